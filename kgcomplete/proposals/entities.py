"""Proposals of new entities from a trained :class:`~kgcomplete.models.generator.NodeGenerator`.

Two uses:

* **anchored** (``anchors=[...]``): "which entity is missing next to X?". Each anchor's
  relationship counts are compared with the mean counts of entities of its label; a
  relation the label usually has and the anchor lacks is a *slot* for a missing neighbour.
  The new entity's code is the posterior given its one known edge (to the anchor), so it
  is inferred from the anchor's context, not sampled blindly.
* **free**: codes sampled from the per-label mixture fitted to the posterior means of
  existing entities (:class:`~kgcomplete.training.generator.LatentMixture`); the proposals
  keep the labels' proportions and are the candidates that best stand in for real
  entities (:func:`free_candidates`, :func:`typicality`).

Every code is decoded into a label and its relationships with probability at least
``min_probability`` (at most ``max_relations``); proposals whose relationship set is too
close to an existing entity's (novelty ``1 - max Jaccard`` not above ``min_novelty``) are
dropped. No two proposals of one call are duplicates by the same rule (Jaccard >=
:data:`DUPLICATE_JACCARD`, whatever their labels): more codes are decoded than asked for
and the best candidates (free: the most typical; anchored: the most probable) are taken
greedily (:func:`pick_distinct`); one that
duplicates a candidate already taken first sheds its least probable shared relationships
until it does not, and is left out (adding to the support of the one it duplicates) if it
cannot.

A relationship set is a set of integer keys ``r2 * N + neighbour`` with ``r2 = r`` for
``new -r-> neighbour`` and ``r + R`` for ``neighbour -r-> new``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import linear_sum_assignment

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.generator import NodeGenerator
from kgcomplete.records import EntityProposal, ProposedRelation

DUPLICATE_JACCARD = 0.5  # sets this similar are duplicates: of an existing entity, or of each other
MIN_KEYS = 2  # a proposal sheds shared relationships (to differ from the others) down to this many
ROUNDS = 3  # decoding rounds (each twice the codes of the last) while proposals are short of the count
FREE_OVERSAMPLE = 64  # codes decoded per free proposal, the first round (the most typical are kept)
ANCHORED_OVERSAMPLE = 4  # the same per anchored proposal (each code decodes 2R * N probabilities)
SIMULATIONS = 50  # random draws of existing entities that free candidates are matched to (typicality)
SIMULATION_DRAW = 200  # at most this many entities a draw
REFERENCE_ENTITIES = 5_000  # typicality compares candidates with at most this many existing entities (a sample)


@dataclass
class Candidate:
    """A decoded code before it becomes a proposal (index form)."""

    label: int
    label_probability: float
    keys: np.ndarray  # relationship keys r2 * N + t, by probability desc
    probabilities: np.ndarray
    anchor: int = -1
    support: int = 1
    novelty: float = 1.0
    closest: int = -1

    @property
    def probability(self) -> float:
        return self.label_probability * float(self.probabilities.mean()) if len(self.keys) else 0.0


# ---------------------------------------------------------------------- relationship sets
def relationship_sets(graph: KGraph) -> sp.csr_matrix:
    """Each entity's relationship set as a 0/1 row, ``shape: (N, 2R * N)``."""
    inc = graph.incident_edges()
    return key_matrix(inc[:, 0], inc[:, 1] * graph.num_entities + inc[:, 2], graph.num_entities,
                      2 * graph.num_relations * graph.num_entities)


def key_matrix(rows: np.ndarray, keys: np.ndarray, num_rows: int, width: int) -> sp.csr_matrix:
    """0/1 sparse matrix with ones at ``(rows, keys)`` (duplicates count once)."""
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, keys)), shape=(num_rows, width))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def sets_matrix(sets: list[np.ndarray], width: int) -> sp.csr_matrix:
    """A list of key arrays as a 0/1 sparse matrix."""
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    keys = np.concatenate(sets).astype(np.int64) if sets else np.zeros(0, dtype=np.int64)
    return key_matrix(rows, keys, len(sets), width)


def jaccard(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Dense Jaccard similarities of the rows of ``a`` and ``b``, ``shape: (A, B)``."""
    inter = (a @ b.T).toarray()
    union = np.asarray(a.sum(1)).reshape(-1, 1) + np.asarray(b.sum(1)).reshape(1, -1) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def novelty(sets: sp.csr_matrix, existing: sp.csr_matrix, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """``1 - max Jaccard`` of each row of ``sets`` with the existing entities, and the index
    of that closest entity."""
    nov, arg = np.ones(sets.shape[0]), np.full(sets.shape[0], -1)
    for i in range(0, sets.shape[0], chunk):
        j = jaccard(sets[i:i + chunk], existing)
        if j.shape[1]:
            arg[i:i + chunk] = j.argmax(1)
            nov[i:i + chunk] = 1.0 - j.max(1)
    return nov, arg


def set_f1(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Dense F1 (Dice) of the rows of ``a`` and ``b`` as sets, ``shape: (A, B)``."""
    inter = (a @ b.T).toarray()
    size = np.asarray(a.sum(1)).reshape(-1, 1) + np.asarray(b.sum(1)).reshape(1, -1)
    return np.divide(2 * inter, size, out=np.zeros_like(inter), where=size > 0)


def typicality(sets: sp.csr_matrix, labels: np.ndarray, existing: sp.csr_matrix, entity_labels: np.ndarray,
               count: int, seed: int = 0) -> np.ndarray:
    """How well each candidate stands in for a real entity, ``shape: (len(sets),)``.

    Draw ``min(count, SIMULATION_DRAW)`` existing entities with at least two relationships
    at random, match the candidates one-to-one to them by the F1 of their relationship sets
    (0 across labels; an optimal assignment), and average each candidate's matched F1 over
    :data:`SIMULATIONS` draws. A candidate scores high when, among all of them, it is the
    best likeness of entities that are common in the graph: what a missing entity, drawn
    like the existing ones, most likely resembles. Above :data:`REFERENCE_ENTITIES` existing
    entities a random sample of them is drawn from.

    Ranking free candidates by it, not by their mean relationship probability, raised
    codex-s matched F1 from 0.327 to 0.359 (seeds 0-4, the same trained generators,
    64 codes a proposal; 0.357 at 32).

    Example:
        >>> typicality(sets_matrix([[3, 7], [5, 9]], width), np.array([0, 0]),
        ...            existing, entity_labels, count=10)                 # doctest: +SKIP
        array([0.41, 0.  ])
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(sets.shape[0])
    ref = np.flatnonzero(np.diff(existing.indptr) >= MIN_KEYS)
    if len(ref) > REFERENCE_ENTITIES:
        ref = rng.choice(ref, size=REFERENCE_ENTITIES, replace=False)
    draw = min(count, SIMULATION_DRAW, len(ref))
    if not draw or not sets.shape[0]:
        return out
    for _ in range(SIMULATIONS):
        pick = rng.choice(ref, size=draw, replace=False)
        f1 = np.where(labels[:, None] == entity_labels[pick][None, :], set_f1(sets, existing[pick]), 0.0)
        rows, cols = linear_sum_assignment(f1, maximize=True)
        out[rows] += f1[rows, cols]
    return out / SIMULATIONS


# ---------------------------------------------------------------------- decoding
@torch.no_grad()
def decode(model: NodeGenerator, z: torch.Tensor, *, min_probability: float = 0.5, max_relations: int = 10,
           chunk: int = 32) -> list[Candidate]:
    """Decode codes ``(M, width)`` into candidates: the most likely label and the at most
    ``max_relations`` relationships with probability >= ``min_probability``.

    The top relationships of all codes are gathered first and the candidates built after:
    small arrays kept between the large per-chunk buffers fragmented the heap (on codex-s,
    3,264 codes held 3.4 GB after decoding).
    """
    k = min(max_relations, 2 * model.num_relations * model.num_entities)
    top_p, top_k = torch.zeros(len(z), k), torch.zeros(len(z), k, dtype=torch.long)
    lab_p, lab = torch.ones(len(z)), torch.full((len(z),), -1, dtype=torch.long)
    for i in range(0, len(z), chunk):
        zc = z[i:i + chunk]
        top_p[i:i + chunk], top_k[i:i + chunk] = model.edge_probabilities(zc).flatten(1).topk(k, dim=1)
        if model.num_labels:
            lab_p[i:i + chunk], lab[i:i + chunk] = torch.softmax(model.label_logits(zc), 1).max(1)
    keep = (top_p >= min_probability).numpy()
    probs, keys, lab_p_np, lab_np = top_p.numpy(), top_k.numpy(), lab_p.numpy(), lab.numpy()
    return [Candidate(label=int(lab_np[row]), label_probability=float(lab_p_np[row]),
                      keys=keys[row][keep[row]], probabilities=probs[row][keep[row]]) for row in range(len(z))]


def filter_novel(candidates: list[Candidate], existing: sp.csr_matrix, width: int, *,
                 min_novelty: float = 0.5) -> list[Candidate]:
    """Set each candidate's novelty and closest entity; drop candidates without
    relationships or with novelty not above ``min_novelty`` (at 0.5: Jaccard >= 0.5 with
    an existing entity, the evaluation's duplicates)."""
    cands = [c for c in candidates if len(c.keys)]
    if not cands:
        return []
    nov, arg = novelty(sets_matrix([c.keys for c in cands], width), existing)
    for c, n, a in zip(cands, nov, arg):
        c.novelty, c.closest = float(n), int(a)
    return [c for c, n in zip(cands, nov) if min_novelty <= 0 or n > min_novelty]


class DistinctSets:
    """Relationship sets chosen so far, to test a new set for duplicates (an inverted
    index from key to the sets that hold it)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.holders: dict[int, list[int]] = {}

    def add(self, keys: np.ndarray) -> None:
        for k in keys.tolist():
            self.holders.setdefault(k, []).append(len(self.sizes))
        self.sizes.append(len(keys))

    def shed(self, keys: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, int]:
        """Which of ``keys`` to keep so that the set duplicates no chosen one: while it does,
        drop its least probable key shared with those it duplicates, down to
        :data:`MIN_KEYS`. Returns the mask and ``-1``, or an empty mask and the first set
        it still duplicates."""
        keep = np.ones(len(keys), dtype=bool)
        if not self.sizes:
            return keep, -1
        member = np.zeros((len(self.sizes), len(keys)), dtype=bool)
        for j, k in enumerate(keys.tolist()):
            member[self.holders.get(k, []), j] = True
        sizes = np.asarray(self.sizes)
        while True:
            inter = member[:, keep].sum(1)
            twins = inter >= DUPLICATE_JACCARD * (sizes + keep.sum() - inter)
            if not twins.any():
                return keep, -1
            if keep.sum() <= MIN_KEYS:
                return np.zeros(len(keys), dtype=bool), int(np.argmax(twins))
            shared = np.flatnonzero(keep & member[twins].any(0))
            keep[shared[np.argmin(probabilities[shared])]] = False


def pick_distinct(candidates: list[Candidate], width: int, count: int, *, strata: list[int] | None = None,
                  quotas: dict[int, int] | None = None, taken: list[np.ndarray] | None = None,
                  existing: sp.csr_matrix | None = None, min_novelty: float = 0.5,
                  scores: np.ndarray | None = None) -> list[Candidate]:
    """At most ``count`` candidates, the highest ``scores`` first (by default the most
    probable), no two of them (nor one of them and a set of ``taken``) with Jaccard >=
    :data:`DUPLICATE_JACCARD`.

    Greedy: each candidate in order of score joins unless it duplicates one already
    chosen. A duplicate first sheds its least probable relationships among those it shares
    with the ones it duplicates, one at a time (:meth:`DistinctSets.shed`), and joins if it
    then duplicates none and is still novel against ``existing`` (novelty above
    ``min_novelty``); otherwise it is left out and adds to the support of the one it
    duplicates, as does each candidate not reached before the count was met that duplicates
    a chosen one. Shedding, not leaving out, kept codex-s matched F1 (seed 0: 0.297 against
    0.246 left out and 0.278 with duplicates allowed). With ``strata`` (one key per
    candidate) and ``quotas`` (places per key) a first pass fills each stratum's quota, a
    second gives the places left to the highest scored of the rest. Candidates are changed
    in place; returns the chosen by probability.
    """
    rank = scores if scores is not None else [c.probability for c in candidates]
    order = sorted(range(len(candidates)), key=lambda i: -rank[i])
    keys = [strata[i] for i in order] if strata is not None else [0] * len(candidates)
    cands = [candidates[i] for i in order]
    room = dict(quotas) if quotas is not None else {0: count}
    sets = DistinctSets()
    for t in taken or []:
        sets.add(t)
    offset = len(sets.sizes)
    chosen: list[Candidate] = []
    support: dict[int, int] = {}
    settled = np.zeros(len(cands), dtype=bool)
    for first_pass in (True, False):
        for i, c in enumerate(cands):
            if settled[i] or len(chosen) >= count or (first_pass and room.get(keys[i], 0) <= 0):
                continue
            keep, twin = sets.shed(c.keys, c.probabilities)
            if twin < 0 and not keep.all() and existing is not None and min_novelty > 0:
                nov, closest = novelty(sets_matrix([c.keys[keep]], width), existing)
                if nov[0] > min_novelty:
                    c.novelty, c.closest = float(nov[0]), int(closest[0])
                else:
                    twin = -2  # shedding made it a copy of an existing entity
            settled[i] = True
            if twin >= offset:
                support[twin - offset] = support.get(twin - offset, 1) + 1
            elif twin == -1:
                c.keys, c.probabilities = c.keys[keep], c.probabilities[keep]
                room[keys[i]] = room.get(keys[i], 0) - 1
                sets.add(c.keys)
                chosen.append(c)
    unseen = [c for c, done in zip(cands, settled) if not done]  # not reached once the count was met
    if chosen and unseen:
        sim = jaccard(sets_matrix([c.keys for c in unseen], width), sets_matrix([c.keys for c in chosen], width))
        for j in sim.argmax(1)[sim.max(1) >= DUPLICATE_JACCARD].tolist():
            support[j] = support.get(j, 1) + 1
    for j, c in enumerate(chosen):
        c.support = support.get(j, 1)
    return sorted(chosen, key=lambda c: -c.probability)


# ---------------------------------------------------------------------- anchored codes
def label_mean_counts(graph: KGraph, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per entity relationship counts ``(N, 2R)`` and the mean counts of its label's
    entities that have any edge ``(N, 2R)``."""
    inc = graph.incident_edges()
    counts = np.zeros((graph.num_entities, 2 * graph.num_relations))
    np.add.at(counts, (inc[:, 0], inc[:, 1]), 1.0)
    present = counts.sum(1) > 0
    groups = np.where(label < 0, label.max(initial=0) + 1, label)
    sums = np.zeros((groups.max(initial=0) + 1, counts.shape[1]))
    np.add.at(sums, groups[present], counts[present])
    sizes = np.bincount(groups[present], minlength=len(sums)).clip(min=1)
    return counts, (sums / sizes[:, None])[groups]


def anchor_slots(counts: np.ndarray, expected: np.ndarray, anchor: int) -> np.ndarray:
    """Weights of the relations (anchor's view, ``2R``) over which a neighbour is missing:
    how far the anchor falls short of its label's mean; its own counts when it does not."""
    deficit = np.clip(expected[anchor] - counts[anchor], 0.0, None)
    return deficit if deficit.sum() >= 0.5 else counts[anchor].astype(float)


@torch.no_grad()
def anchored_codes(model: NodeGenerator, graph: KGraph, anchor: int, weights: np.ndarray, samples: int,
                   gen: torch.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """``samples`` codes of new neighbours of ``anchor`` spread over its slots by weight:
    the posterior given the single edge to the anchor. Returns codes and each code's
    relation to the anchor, seen from the new entity (``r2``)."""
    R = graph.num_relations
    slot = torch.multinomial(torch.as_tensor(weights, dtype=torch.float), samples, replacement=True, generator=gen)
    new_view = (slot + R) % (2 * R)  # anchor -r-> new is new <-r- anchor
    h = model.encode_context(torch.from_numpy(graph.triples))
    edges = torch.stack([torch.arange(samples), new_view, torch.full((samples,), anchor)], 1)
    mu, logvar = model.posterior(h, edges, samples)
    eps = torch.randn(mu.shape, generator=gen)
    eps[0] = 0.0  # the first code is the posterior mean
    return mu + eps * torch.exp(0.5 * logvar), new_view.numpy()


# ---------------------------------------------------------------------- the public call
def propose_entities(generator: NodeGenerator, graph: KGraph, *, anchors: list[str] | None = None,
                     count: int = 10, label: str | None = None, min_probability: float = 0.5,
                     min_novelty: float = 0.5, max_relations: int = 10, seed: int = 0,
                     oversample: int | None = None) -> list[EntityProposal]:
    """Propose new entities for ``graph`` (the graph the generator was trained on).

    Args:
        generator: a trained :class:`NodeGenerator` (from :func:`~kgcomplete.training.generator.fit_generator`).
        graph: the existing graph.
        anchors: entity keys: propose up to ``count`` missing neighbours of each; ``None``
            samples freely from the latent mixture. (default: :obj:`None`)
        count: proposals (per anchor when anchored). (default: :obj:`10`)
        label: free use: only this label. (default: :obj:`None`)
        min_probability: keep relationships at least this likely. (default: :obj:`0.5`)
        min_novelty: keep proposals whose novelty is above this (0: keep all).
            (default: :obj:`0.5`)
        max_relations: at most this many relationships a proposal. (default: :obj:`10`)
        seed: sampling seed. (default: :obj:`0`)
        oversample: codes decoded per requested proposal, the first round; no two
            proposals are duplicates, so up to :data:`ROUNDS` rounds of twice as many
            follow while fewer than ``count`` are distinct. (default:
            :data:`FREE_OVERSAMPLE` free, :data:`ANCHORED_OVERSAMPLE` anchored)

    Returns:
        Proposals by probability (descending), at most ``count`` (per anchor), no two of
        them (across anchors too) with Jaccard >= :data:`DUPLICATE_JACCARD`.

    Raises:
        GraphError: an unknown anchor key or label, or a generator trained on another graph.
    """
    if generator.num_entities != graph.num_entities or generator.num_relations != graph.num_relations:
        raise GraphError("the generator was trained on a graph of another size: pass the same graph")
    gen = torch.Generator().manual_seed(seed)
    width = 2 * graph.num_relations * graph.num_entities
    existing = relationship_sets(graph)
    label_id = None
    if label is not None:
        if label not in graph.labels:
            raise GraphError(f"unknown label {label!r}: the graph has {', '.join(graph.labels[:10])}")
        label_id = graph.labels.index(label)
    if not anchors:
        cands = free_candidates(generator, count, label_id, existing, gen, min_probability=min_probability,
                                min_novelty=min_novelty, max_relations=max_relations,
                                oversample=oversample or FREE_OVERSAMPLE)
        return [to_proposal(c, graph, generator) for c in cands]
    index = graph.entity_index()
    unknown = [a for a in anchors if a not in index]
    if unknown:
        raise GraphError(f"unknown anchor {unknown[0]!r}: not an entity key of this graph")
    label_arr = generator.label.numpy()
    counts, expected = label_mean_counts(graph, label_arr)
    out: list[Candidate] = []
    oversample = oversample or ANCHORED_OVERSAMPLE
    for key in anchors:
        a = index[key]
        weights = anchor_slots(counts, expected, a)
        if weights.sum() == 0:
            continue
        pool: list[Candidate] = []
        for extra in range(ROUNDS):
            z, to_anchor = anchored_codes(generator, graph, a, weights, oversample * 2 ** extra * count, gen)
            cands = decode(generator, z, min_probability=min_probability, max_relations=max_relations)
            for row, (c, r2) in enumerate(zip(cands, to_anchor)):
                c.anchor = a
                _ensure_anchor_edge(generator, c, z[row], int(r2) * graph.num_entities + a)
            pool += filter_novel(cands, existing, width, min_novelty=min_novelty)
            chosen = pick_distinct([_copy(c) for c in pool], width, count, taken=[c.keys for c in out],
                                   existing=existing, min_novelty=min_novelty)
            if len(chosen) >= count:
                break
        out += chosen
    return [to_proposal(c, graph, generator, counts, expected) for c in out]


def free_candidates(generator: NodeGenerator, count: int, label: int | None, existing: sp.csr_matrix,
                    gen: torch.Generator, *, min_probability: float, min_novelty: float, max_relations: int,
                    oversample: int) -> list[Candidate]:
    """``count`` distinct free candidates, the most typical first, the labels in the mixture's proportions.

    Each label's quota (:meth:`~kgcomplete.models.generator.LatentMixture.quotas`) is filled
    from ``oversample`` times as many codes of that label, decoded and novel, in order of
    :func:`typicality` (how well each stands in for the existing entities it is matched
    to); a label that falls short leaves its places to the most typical of the rest
    (:func:`pick_distinct`). A single global ranking instead lets the labels whose
    relationships are surest crowd out the others. While fewer than ``count`` distinct
    candidates are found, up to :data:`ROUNDS` rounds decode twice as many codes again.
    The order matters: on codex-s (seeds 0-4, 5% held out) matched F1 was 0.327 ranked by
    mean relationship probability, 0.359 by typicality, about 0.29 in random order.
    """
    mixture, width = generator.mixture_, existing.shape[1]
    if mixture is None:
        raise GraphError("the generator has no latent mixture: train it with fit_generator")
    quotas = {label: count} if label is not None else mixture.quotas(count)
    entity_labels = generator.label.numpy()
    seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
    pool: list[Candidate] = []
    stratum: dict[int, int] = {}
    for extra in range(ROUNDS):
        codes, strata = [], []
        for lab, quota in quotas.items():
            z, _ = mixture.sample(oversample * 2 ** extra * quota, lab, gen)
            codes.append(z)
            strata += [lab] * len(z)
        cands = decode(generator, torch.cat(codes), min_probability=min_probability, max_relations=max_relations)
        stratum.update({id(c): lab for c, lab in zip(cands, strata)})
        pool += filter_novel(cands, existing, width, min_novelty=min_novelty)
        scores = typicality(sets_matrix([c.keys for c in pool], width), np.array([c.label for c in pool]), existing,
                            entity_labels, count, seed) if pool else None
        chosen = pick_distinct([_copy(c) for c in pool], width, count, strata=[stratum[id(c)] for c in pool],
                               quotas=quotas, existing=existing, min_novelty=min_novelty, scores=scores)
        if len(chosen) >= count:
            break
    return chosen


def _copy(c: Candidate) -> Candidate:
    """A copy that :func:`pick_distinct` may change (the pool is picked from again)."""
    return dataclasses.replace(c)


def _ensure_anchor_edge(model: NodeGenerator, c: Candidate, z: torch.Tensor, key: int) -> None:
    """Put the edge to the anchor into the candidate (with its decoded probability)."""
    if key in set(c.keys.tolist()):
        return
    n = model.num_entities
    with torch.no_grad():
        p = float(model.edge_probabilities(z[None])[0, key // n, key % n])
    c.keys, c.probabilities = np.append(c.keys, key), np.append(c.probabilities, p)


def to_proposal(c: Candidate, graph: KGraph, model: NodeGenerator, counts: np.ndarray | None = None,
                expected: np.ndarray | None = None) -> EntityProposal:
    """The public form of a candidate, with up to three lines of evidence."""
    n, R = graph.num_entities, graph.num_relations
    order = np.argsort(-c.probabilities, kind="stable")
    rels = [ProposedRelation(relation=graph.relations[int(k // n) % R], direction="out" if k // n < R else "in",
                             neighbour=graph.entities[int(k % n)], probability=float(p))
            for k, p in zip(c.keys[order], c.probabilities[order])]
    label = graph.labels[c.label] if c.label >= 0 and graph.labels else None
    return EntityProposal(label=label, label_probability=c.label_probability, relations=rels,
                          probability=c.probability, novelty=c.novelty, support=c.support,
                          anchor=graph.entities[c.anchor] if c.anchor >= 0 else None,
                          evidence=evidence(c, graph, model, rels, counts, expected),
                          closest=graph.entities[c.closest] if c.closest >= 0 else None)


def evidence(c: Candidate, graph: KGraph, model: NodeGenerator, rels: list[ProposedRelation],
             counts: np.ndarray | None, expected: np.ndarray | None) -> list[str]:
    """Short reasons: what entities of the label share, the anchor's gap, novelty."""
    out: list[str] = []
    n, R = graph.num_entities, graph.num_relations
    labels = model.label.numpy()
    peers = np.flatnonzero(labels == c.label) if c.label >= 0 else np.arange(n)
    name = graph.labels[c.label] if c.label >= 0 and graph.labels else "existing"
    if rels and len(peers):
        k = int(c.keys[np.argmax(c.probabilities)])
        r2, t = k // n, k % n
        inc = graph.incident_edges()
        have = np.unique(inc[(inc[:, 1] == r2) & (inc[:, 2] == t), 0])
        arrow = f"-> {graph.display_name(t)}" if r2 < R else f"<- {graph.display_name(t)}"
        out.append(f"like {len(peers)} other {name} entities: {np.isin(have, peers).sum()} have "
                   f"'{graph.relations[r2 % R]}' {arrow}")
    if c.anchor >= 0 and counts is not None and expected is not None:
        gap = expected[c.anchor] - counts[c.anchor]
        r2 = int(gap.argmax())
        side = "outgoing" if r2 < R else "incoming"
        out.append(f"{graph.display_name(c.anchor)} has {counts[c.anchor, r2]:.0f} {side} "
                   f"'{graph.relations[r2 % R]}' relationships; its label averages {expected[c.anchor, r2]:.1f}")
    if c.closest >= 0:
        out.append(f"novelty {c.novelty:.2f}: closest existing entity {graph.display_name(c.closest)}; "
                   f"{c.support} generated candidate(s) agree")
    return out[:3]
