"""Candidate search: which (head, type, tail) triples a run considers.

For each relationship type, every type-consistent entity is asked in both directions,
``(head, type, ?)`` and ``(?, type, tail)``; the model scores all entities and each
anchor's best ``top_k`` unblocked candidates are kept:

- *type consistency*: a candidate's labels must meet the labels seen on that
  relationship's heads (tails) in the graph (overridable per type);
- *blocked*: pairs that already have the real relationship, pending and rejected
  suggestions;
- *query budget*: on large graphs a run asks at most ``query_budget`` anchors in all,
  shared evenly between the types and directions, chosen by ``anchor_policy``
  (``least_connected`` first, or ``random``). Each query costs a score against every
  type-consistent target, so the budget bounds the search at ``budget x N`` scores instead of
  ``2 R N^2``;
- *search*: ``exact`` scores every target; ``approximate`` asks a FAISS index over the
  targets' vectors (:mod:`~kgcomplete.proposals.vector_index`) for its best
  ``rerank * (top_k + 21)`` and rescores those with the model; ``auto`` (the default) is
  approximate where a type and direction has at least ``AUTO_APPROXIMATE_TARGETS`` targets. Models whose score is no
  inner product or distance of vectors (NBFNet, the heuristics) always search exactly.

Blocked triples travel as sorted ``int64`` keys (:mod:`~kgcomplete.proposals.blocked`),
checked a batch of candidates at a time.

Example:
    >>> blocked = BlockedTriples.of(graph.triples, num_entities=graph.num_entities,
    ...                             num_relations=graph.num_relations)             # doctest: +SKIP
    >>> found = find_candidates(model, graph, SuggestPolicy(top_k=3), blocked)      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from kgcomplete.errors import ConfigError, GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.proposals.blocked import BlockedTriples, split_keys, triple_keys
from kgcomplete.proposals.vector_index import VectorIndex

#: How a candidate search finds each query's best targets (see the module docstring).
SEARCHES = ("auto", "exact", "approximate")

#: ``search = "auto"`` asks an index where a type and direction has at least this many
#: targets. Below it an exact query costs under about 2 ms at one thread (0.64 ms over
#: wn18rr's 41k entities, linear in the targets), and the index did not pay: at 41k it saved
#: 8% of the time for 2.6% of the recall (benchmarks/candidate_recall.py).
AUTO_APPROXIMATE_TARGETS = 100_000

#: Candidates looked at past ``top_k`` per query, so that blocked ones can be skipped.
BLOCKED_MARGIN = 20

#: At most this many scores a batch of exact queries (rows shrink on large graphs: 256 MB).
SCORES_PER_BATCH = 2**26


@dataclass
class SuggestPolicy:
    """What to propose.

    Args:
        relation_types: relationship types to propose (default: every type in the graph).
        top_k: candidates kept per entity, relationship type and direction. (default: 5)
        min_probability: drop suggestions below this calibrated probability. (default: 0.1)
        max_total: at most this many suggestions, most probable first. (default: 1000)
        type_constraints: per type, ``(head labels, tail labels)`` that override the ones
            learned from the graph; an empty list means "any".
        query_budget: anchor queries per run over all types and directions (default: every
            type-consistent entity, in both directions).
        anchor_policy: which anchors a budget asks first: ``least_connected`` (fewest
            relationships: the entities most likely to miss some) or ``random``.
        search: ``auto``, ``exact`` or ``approximate`` (see the module docstring).
        rerank: an approximate query rescores ``rerank * (top_k + 21)`` of the index's best
            exactly (more is slower and closer to exact). (default: 8)
    """

    relation_types: list[str] | None = None
    top_k: int = 5
    min_probability: float = 0.1
    max_total: int = 1000
    type_constraints: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    query_budget: int | None = None
    anchor_policy: str = "least_connected"
    search: str = "auto"
    rerank: int = 8

    def __post_init__(self) -> None:
        if self.anchor_policy not in ANCHOR_POLICIES:
            raise ConfigError(f"unknown anchor_policy {self.anchor_policy!r}: use one of {', '.join(ANCHOR_POLICIES)}")
        if self.query_budget is not None and self.query_budget < 1:
            raise ConfigError(f"query_budget must be at least 1, got {self.query_budget}")
        if self.search not in SEARCHES:
            raise ConfigError(f"unknown search {self.search!r}: use one of {', '.join(SEARCHES)}")
        if self.rerank < 1:
            raise ConfigError(f"rerank must be at least 1, got {self.rerank}")


#: How a query budget picks anchors.
ANCHOR_POLICIES = ("least_connected", "random")


def split_budget(sizes: list[int], budget: int) -> list[int]:
    """Share ``budget`` queries between slots of ``sizes`` anchors as evenly as the sizes
    allow: a slot with fewer anchors than its share gives the rest to the others.

    Example:
        >>> split_budget([2, 10, 10], 12)
        [2, 5, 5]
    """
    quota = [0] * len(sizes)
    left, open_ = budget, len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: sizes[i]):
        quota[i] = min(sizes[i], left // open_)
        left, open_ = left - quota[i], open_ - 1
    return quota


def choose_anchors(idx: np.ndarray, count: int, policy: str, degree: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """``count`` of the anchors ``idx`` (sorted): the least connected (ties at random), or
    a random sample."""
    if count >= len(idx):
        return idx
    if policy == "random":
        return np.sort(rng.choice(idx, count, replace=False))
    shuffled = rng.permutation(idx)
    return np.sort(shuffled[np.argsort(degree[shuffled], kind="stable")[:count]])


def allowed_entities(graph: KGraph, relation: int, side: int,
                     override: tuple[list[str], list[str]] | None = None) -> np.ndarray:
    """``shape: (num_entities,), dtype: bool``: entities whose labels fit ``side`` (0 head,
    2 tail) of ``relation``, as seen in the graph (or as ``override`` says)."""
    E = graph.entity_labels
    if not graph.labels:
        return np.ones(graph.num_entities, dtype=bool)
    if override is not None:
        wanted = override[0 if side == 0 else 1]
        if not wanted:
            return np.ones(graph.num_entities, dtype=bool)
        unknown = [lab for lab in wanted if lab not in graph.labels]
        if unknown:
            raise GraphError(f"type constraint names unknown label(s) {unknown} for relationship "
                             f"{graph.relations[relation]!r}")
        allowed = np.isin(np.asarray(graph.labels, dtype=object), wanted)
    else:
        members = graph.triples[graph.triples[:, 1] == relation][:, side]
        if members.size == 0:
            return np.zeros(graph.num_entities, dtype=bool)
        allowed = E[members].any(axis=0)
        if not allowed.any():  # unlabelled heads/tails: no constraint to learn
            return np.ones(graph.num_entities, dtype=bool)
    return np.asarray((E & allowed[None, :]).any(axis=1))


@dataclass
class Candidates:
    """What a candidate search found: each triple once, at its best rank, in the order first found.

    Attributes:
        triples: ``shape: (n, 3), dtype: int64``, rows ``(head, relation, tail)``.
        scores: ``shape: (n,)``: the model's score, from the query that ranked it best.
        ranks: ``shape: (n,), dtype: int64``: its best rank among one anchor's unblocked
            candidates (1 = the best).
        queries: anchor queries each search answered, ``{"exact": ..., "approximate": ...}``.
    """

    triples: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    queries: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.triples)

    @property
    def search(self) -> str:
        """``"exact"``, ``"approximate"``, or ``"exact+approximate"`` when both ran."""
        return "+".join(k for k in ("exact", "approximate") if self.queries.get(k)) or "exact"


Slot = tuple[int, int, np.ndarray, np.ndarray]  # relation, side, anchors, targets (bool over entities)


def plan_queries(graph: KGraph, policy: SuggestPolicy, max_anchors: int | None,
                 rng: np.random.Generator) -> list[Slot]:
    """The anchors to ask for each relationship type and side (0 asks ``(anchor, r, ?)``, 1
    ``(?, r, anchor)``), and the type-consistent targets, within the query budget."""
    r_index = graph.relation_index()
    for what, names in (("suggest", policy.relation_types or []), ("constrain", list(policy.type_constraints))):
        unknown = [n for n in names if n not in r_index]
        if unknown:
            raise GraphError(f"cannot {what} unknown relationship type(s) {unknown}: the graph has "
                             f"{', '.join(graph.relations[:10])}")
    slots: list[Slot] = []
    for name in policy.relation_types or list(graph.relations):
        r = r_index[name]
        override = policy.type_constraints.get(name)
        ok_head, ok_tail = allowed_entities(graph, r, 0, override), allowed_entities(graph, r, 2, override)
        for side, (anchors, targets) in enumerate(((ok_head, ok_tail), (ok_tail, ok_head))):
            idx = np.flatnonzero(anchors)
            if max_anchors is not None and len(idx) > max_anchors:
                idx = np.sort(rng.choice(idx, max_anchors, replace=False))
            slots.append((r, side, idx, targets))
    if policy.query_budget is not None:
        degree = np.bincount(graph.triples[:, [0, 2]].ravel(), minlength=graph.num_entities)
        quotas = split_budget([len(s[2]) for s in slots], policy.query_budget)
        slots = [(r, side, choose_anchors(idx, q, policy.anchor_policy, degree, rng), targets)
                 for (r, side, idx, targets), q in zip(slots, quotas)]
    return slots


def search_kind(model: LinkPredictor, policy: SuggestPolicy, targets: int) -> str:
    """``"exact"`` or ``"approximate"`` for a query over ``targets`` entities under ``policy.search``."""
    if policy.search == "exact" or model.vector_form is None:
        return "exact"
    return "approximate" if policy.search == "approximate" or targets >= AUTO_APPROXIMATE_TARGETS else "exact"


def exact_top(model: LinkPredictor, anchors: Tensor, rel: Tensor, state: Any, width: int, *,
              subset: Tensor | None = None, excluded: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Score each query against every entity (or only against ``subset``, their indices),
    leaving out self-loops and ``excluded`` (``shape: (N,), dtype: bool``); the best
    ``width`` as ``(scores, entities)``, ``shape: (B, width)``."""
    if subset is None:
        s = model.score_queries(anchors, rel, state)
        if excluded is not None:
            s = s.masked_fill(excluded[None, :], float("-inf"))
        s[torch.arange(len(anchors)), anchors] = float("-inf")
        return torch.topk(s, min(width, s.shape[1]), dim=1)
    s = model.score_candidates(anchors, rel, subset, state)
    s = s.masked_fill(subset[None, :] == anchors[:, None], float("-inf"))
    top_s, top_i = torch.topk(s, min(width, s.shape[1]), dim=1)
    return top_s, subset[top_i]


def approximate_top(model: LinkPredictor, index: VectorIndex, targets: np.ndarray, anchors: Tensor, rel: Tensor,
                    state: Any, width: int, rerank: int) -> tuple[Tensor, Tensor]:
    """The index's (over ``targets``) best ``rerank * (width + 1)`` targets of each query,
    rescored by the model; the best ``width`` of those, no self-loops, as ``(scores,
    entities)``, ``shape: (B, width)``."""
    q = model.query_vectors(anchors, rel, state).float().cpu().numpy()
    pos = index.search(q, min(rerank * (width + 1), len(index)))
    ids = torch.as_tensor(np.where(pos >= 0, targets[pos.clip(0)], -1))
    k = ids.shape[1]
    if model.vector_form == "inner_product":   # the score is q . e: one product per pair
        s = torch.einsum("bd,bkd->bk", torch.as_tensor(q), model.entity_vectors(state)[ids.clamp(min=0)].float())
    else:
        s = model.score_pairs(anchors.repeat_interleave(k), rel.repeat_interleave(k), ids.clamp(min=0).view(-1),
                              state).view(-1, k)
    s = s.masked_fill((ids < 0) | (ids == anchors[:, None]), float("-inf"))
    top_s, order = torch.topk(s, min(width, k), dim=1)
    return top_s, ids.gather(1, order)


def keep_unblocked(top_s: Tensor, top_i: Tensor, anchors: Tensor, relation: int, side: int, blocked: BlockedTriples,
                   top_k: int) -> tuple[np.ndarray, ...]:
    """Each query's best ``top_k`` candidates that are not blocked, from its best ``(B, W)``
    (``-inf``: none): ``(keys, scores, ranks, rows, columns)`` of the kept ones."""
    s, c, a = top_s.numpy(), top_i.numpy(), anchors.numpy()[:, None]
    heads, tails = (a, c) if side == 0 else (c, a)
    keys = triple_keys(heads, relation, tails, blocked.num_entities, blocked.num_relations)
    ok = (s != float("-inf")) & ~blocked.contains_keys(keys)
    rank = np.cumsum(ok, axis=1)
    keep = ok & (rank <= top_k)
    rows, cols = np.nonzero(keep)
    return keys[keep], s[keep].astype(np.float64), rank[keep], rows, cols


def merge(keys: np.ndarray, scores: np.ndarray, ranks: np.ndarray, order: np.ndarray, num_entities: int,
          num_relations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct key once, with the score and rank of its best rank (the first found
    among equals), in the order each key was first found: ``(triples, scores, ranks)``."""
    by_rank = np.lexsort((order, ranks, keys))
    best = by_rank[np.r_[True, keys[by_rank][1:] != keys[by_rank][:-1]]]
    by_order = np.lexsort((order, keys))
    first = order[by_order[np.r_[True, keys[by_order][1:] != keys[by_order][:-1]]]]
    pick = best[np.argsort(first, kind="stable")]
    return split_keys(keys[pick], num_entities, num_relations), scores[pick], ranks[pick]


@torch.no_grad()
def find_candidates(model: LinkPredictor, graph: KGraph, policy: SuggestPolicy, blocked: BlockedTriples, *,
                    max_anchors: int | None = None, rng: np.random.Generator | None = None, batch_size: int = 512,
                    progress: bool = False, echo: Callable[[str], None] = lambda _: None) -> Candidates:
    """Each type-consistent anchor's best ``policy.top_k`` unblocked candidates, asked in
    both directions (at most ``max_anchors`` random anchors per type and direction), exactly
    or through a vector index (``policy.search``). ``progress``: bars (count, ETA) over the
    queries and each index built; ``echo`` says which search ran."""
    model.eval()
    N, R = graph.num_entities, graph.num_relations
    slots = plan_queries(graph, policy, max_anchors, rng or np.random.default_rng(0))
    kinds = [search_kind(model, policy, int(t.sum())) for *_, t in slots]
    if policy.search != "exact" and model.vector_form is None:
        echo(f"candidate search: exact ({type(model).__name__} has no vector form for an index)")
    # approximate slots grouped by their targets, so each index is built once
    groups = {i: hashlib.sha256(np.packbits(slots[i][3]).tobytes()).digest() if k == "approximate" else b""
              for i, k in enumerate(kinds)}
    plan = sorted(range(len(slots)), key=lambda i: (kinds[i] == "approximate", groups[i], i))
    width, span = policy.top_k + BLOCKED_MARGIN, max([len(s[2]) for s in slots], default=0) + 1
    exact_rows = max(1, min(batch_size, SCORES_PER_BATCH // N))
    state = model.cached_state()
    queries = {"exact": 0, "approximate": 0}
    parts: list[tuple[np.ndarray, ...]] = []
    index: tuple[bytes, VectorIndex] | None = None
    bar = tqdm(total=sum(len(s[2]) for s in slots), desc="candidates", unit="query",
               disable=not progress or None, leave=False)
    for i in plan:
        r, side, idx, targets = slots[i]
        target_ids = np.flatnonzero(targets)
        if kinds[i] == "approximate" and (index is None or index[0] != groups[i]):
            index = None   # free the last one first
            vectors = model.entity_vectors(state)[torch.as_tensor(target_ids)].float().cpu().numpy()
            index = (groups[i], VectorIndex(vectors, model.vector_form or "", progress=progress))
            echo(f"candidate search: approximate over {len(target_ids)} targets ({index[1].subquantizers} codes a "
                 f"vector), {policy.rerank * (width + 1)} rescored per query")
        # few type-consistent targets: score those only (the rest would be left out anyway)
        subset = torch.as_tensor(target_ids) if len(target_ids) < N // 2 else None
        excluded = torch.as_tensor(~targets) if subset is None and len(target_ids) < N else None
        step = batch_size if kinds[i] == "approximate" else exact_rows
        for start in range(0, len(idx), step):
            a = torch.as_tensor(idx[start:start + step])
            rel = torch.full_like(a, r + R * side)
            if kinds[i] == "approximate" and index is not None:
                top_s, top_i = approximate_top(model, index[1], target_ids, a, rel, state, width, policy.rerank)
            else:
                top_s, top_i = exact_top(model, a, rel, state, width, subset=subset, excluded=excluded)
            keys, scores, ranks, rows, cols = keep_unblocked(top_s, top_i, a, r, side, blocked, policy.top_k)
            parts.append((keys, scores, ranks, (i * span + start + rows) * (width + 1) + cols))
            queries[kinds[i]] += len(a)
            bar.update(len(a))
    bar.close()
    keys, scores, ranks, order = (np.concatenate([p[j] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
                                  for j in range(4))
    triples, scores, ranks = merge(keys, scores.astype(np.float64), ranks.astype(np.int64), order, N, R)
    return Candidates(triples, scores, ranks, queries)
