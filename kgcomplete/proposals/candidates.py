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
  ``2 R N^2``.

Example:
    >>> found = find_candidates(model, graph, SuggestPolicy(top_k=3), graph.known())  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from kgcomplete.errors import ConfigError, GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor


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
    """

    relation_types: list[str] | None = None
    top_k: int = 5
    min_probability: float = 0.1
    max_total: int = 1000
    type_constraints: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    query_budget: int | None = None
    anchor_policy: str = "least_connected"

    def __post_init__(self) -> None:
        if self.anchor_policy not in ANCHOR_POLICIES:
            raise ConfigError(f"unknown anchor_policy {self.anchor_policy!r}: use one of {', '.join(ANCHOR_POLICIES)}")
        if self.query_budget is not None and self.query_budget < 1:
            raise ConfigError(f"query_budget must be at least 1, got {self.query_budget}")


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


@torch.no_grad()
def find_candidates(model: LinkPredictor, graph: KGraph, policy: SuggestPolicy, blocked: set[tuple[int, int, int]], *,
                max_anchors: int | None = None, rng: np.random.Generator | None = None, batch_size: int = 512,
                progress: bool = False) -> dict[tuple[int, int, int], tuple[float, int]]:
    """``{(head, type, tail): (score, best rank)}``: each type-consistent anchor's best
    ``policy.top_k`` unblocked candidates, asked in both directions (at most
    ``max_anchors`` random anchors per type and direction). ``progress``: a bar over the
    relationship types, with an ETA."""
    model.eval()
    r_index = graph.relation_index()
    for what, names in (("suggest", policy.relation_types or []), ("constrain", list(policy.type_constraints))):
        unknown = [n for n in names if n not in r_index]
        if unknown:
            raise GraphError(f"cannot {what} unknown relationship type(s) {unknown}: the graph has "
                             f"{', '.join(graph.relations[:10])}")
    N, R = graph.num_entities, graph.num_relations
    rng = rng or np.random.default_rng(0)
    slots = []  # (relation, side, anchors, targets): side 0 asks (anchor, r, ?), side 1 (?, r, anchor)
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
        degree = np.bincount(graph.triples[:, [0, 2]].ravel(), minlength=N)
        quotas = split_budget([len(s[2]) for s in slots], policy.query_budget)
        slots = [(r, side, choose_anchors(idx, q, policy.anchor_policy, degree, rng), targets)
                 for (r, side, idx, targets), q in zip(slots, quotas)]
    found: dict[tuple[int, int, int], tuple[float, int]] = {}
    state = model.cached_state()
    bar = tqdm(total=sum(len(s[2]) for s in slots), desc="candidates", unit="query",
               disable=not progress or None, leave=False)
    for r, side, idx, targets in slots:
        # few type-consistent targets: score those only (the rest would be masked anyway)
        subset = torch.as_tensor(np.flatnonzero(targets)) if targets.sum() < N // 2 else None
        bad = torch.as_tensor(~targets) if subset is None else None
        for start in range(0, len(idx), batch_size):
            a = torch.as_tensor(idx[start:start + batch_size])
            rel = torch.full_like(a, r + R * side)
            if subset is not None:
                s = torch.full((len(a), N), float("-inf"))
                s[:, subset] = model.score_candidates(a, rel, subset, state)
            else:
                s = model.score_queries(a, rel, state).masked_fill(bad[None, :], float("-inf"))  # type: ignore[index]
            s[torch.arange(len(a)), a] = float("-inf")  # no self-loops
            top_s, top_i = torch.topk(s, min(policy.top_k + 20, N), dim=1)
            bar.update(len(a))
            for row, anchor in enumerate(a.tolist()):
                rank = 0
                for sc, c in zip(top_s[row].tolist(), top_i[row].tolist()):
                    if sc == float("-inf") or rank >= policy.top_k:
                        break
                    trip = (anchor, r, c) if side == 0 else (c, r, anchor)
                    if trip in blocked:
                        continue
                    rank += 1
                    if trip not in found or found[trip][1] > rank:
                        found[trip] = (sc, rank)
    bar.close()
    return found
