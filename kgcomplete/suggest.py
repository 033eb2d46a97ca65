"""Proposals: scored candidate relationships with calibrated probabilities and evidence.

For each configured relationship type, every type-consistent entity is asked in both
directions, ``(head, type, ?)`` and ``(?, type, tail)``; the model scores all entities,
and the best ``top_k`` candidates that pass the filters become :class:`Suggestion` s:

- *type consistency*: a candidate's labels must meet the labels seen on that
  relationship's heads (tails) in the graph (overridable per type);
- *exclusions*: pairs that already have the real relationship, pending suggestions (unless
  asked to refresh them), rejected suggestions;
- a *calibrated probability*: Platt scaling fitted on held-out edges, on exactly the
  decision it calibrates (is a top-``k`` candidate of a held-out query true?); its
  reliability is measured as expected calibration error on a second half of the queries;
- *evidence*: up to three short reasons an analyst can check in the graph: firing path
  rules with their confidence, and neighbours of the head that have the same relationship
  to the tail.

Example:
    >>> calib = Calibrator.fit_heldout(model, train, valid)                 # doctest: +SKIP
    >>> props = suggest(model, train, calib, SuggestPolicy(top_k=3))       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.heuristics import PathRules

Triple = tuple[str, str, str]


@dataclass
class Suggestion:
    """One proposed relationship ``(head)-[:type]->(tail)`` between existing nodes (by key)."""

    head: str
    type: str
    tail: str
    score: float
    probability: float
    rank: int
    evidence: list[str] = field(default_factory=list)
    model: str = ""

    def caption(self) -> str:
        """A short caption for Neo4j Browser, e.g. ``P530? 87%``."""
        return f"{self.type}? {self.probability:.0%}"

    def describe(self, max_evidence: int = 3) -> list[str]:
        """Lines for a terminal: the suggestion, then its evidence."""
        return [f"  {self.probability:.2f}  ({self.head})-[:{self.type}]->({self.tail})",
                *(f"          because {line}" for line in self.evidence[:max_evidence])]


@dataclass
class SuggestPolicy:
    """What to propose.

    Args:
        relation_types: relationship types to propose (default: every type in the graph).
        top_k: candidates kept per entity, relationship type and direction. (default: 5)
        min_probability: drop suggestions below this calibrated probability. (default: 0.5)
        max_total: at most this many suggestions, most probable first. (default: 1000)
        type_constraints: per type, ``(head labels, tail labels)`` that override the ones
            learned from the graph; an empty list means "any".
    """

    relation_types: list[str] | None = None
    top_k: int = 5
    min_probability: float = 0.5
    max_total: int = 1000
    type_constraints: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


class Calibrator:
    """Platt scaling plus what reviews taught:
    ``probability = sigmoid(a * score + b + offset)``.

    The ``offsets`` (none by default) shift the log-odds of a suggestion by its
    relationship type, by (type, tail) and by (head, type): see :meth:`with_feedback`.
    """

    def __init__(self, a: float = 1.0, b: float = 0.0, ece: float | None = None,
                 offsets: dict[tuple[str, ...], float] | None = None) -> None:
        self.a, self.b, self.ece = float(a), float(b), ece
        self.offsets: dict[tuple[str, ...], float] = dict(offsets or {})

    def __call__(self, scores: np.ndarray, triples: Sequence[Triple] | None = None) -> np.ndarray:
        """Probabilities of ``scores``; ``triples`` (head, type, tail keys) select offsets."""
        z = self.a * np.asarray(scores, dtype=np.float64) + self.b
        if triples is not None and self.offsets:
            z = z + np.array([sum(self.offsets.get(k, 0.0) for k in _feedback_keys(t)) for t in triples])
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def with_feedback(self, outcomes: Sequence[tuple[Triple, float, bool]], prior: float = 2.0) -> "Calibrator":
        """Learn from reviews: log-odds offsets that make the probabilities shown to analysts
        match what they accepted.

        ``outcomes`` are ``((head, type, tail), probability when proposed, accepted?)``.
        The offsets, one per relationship type, per (type, tail) and per (head, type),
        maximise the likelihood of the outcomes under ``sigmoid(logit(p) + sum of the
        offsets)`` with a Gaussian prior of precision ``prior`` on each (so a handful of
        reviews moves them a little, hundreds move them a lot). They add to earlier ones.
        """
        from scipy.optimize import minimize

        if not outcomes:
            return Calibrator(self.a, self.b, self.ece, self.offsets)
        index: dict[tuple[str, ...], int] = {}
        rows, cols = [], []
        for i, (triple, _, _) in enumerate(outcomes):
            for k in _feedback_keys(triple):
                rows.append(i)
                cols.append(index.setdefault(k, len(index)))
        X = np.zeros((len(outcomes), len(index)))
        X[rows, cols] = 1.0
        p = np.clip(np.array([o[1] for o in outcomes], dtype=np.float64), 1e-6, 1 - 1e-6)
        base, y = np.log(p / (1 - p)), np.array([o[2] for o in outcomes], dtype=np.float64)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = base + X @ w
            nll = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * prior * w @ w
            return nll, X.T @ (1 / (1 + np.exp(-z)) - y) + prior * w

        w = minimize(loss, np.zeros(len(index)), jac=True, method="L-BFGS-B").x
        offsets = dict(self.offsets)
        for k, j in index.items():
            offsets[k] = offsets.get(k, 0.0) + float(w[j])
        return Calibrator(self.a, self.b, self.ece, offsets)

    @classmethod
    def fit(cls, scores: np.ndarray, labels: np.ndarray, iterations: int = 100) -> "Calibrator":
        """Logistic regression of ``labels`` on ``scores`` (Newton's method, Platt's targets)."""
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if x.size == 0 or y.min() == y.max():
            raise GraphError("calibration needs held-out candidates of both kinds (true and false)")
        n_pos, n_neg = y.sum(), len(y) - y.sum()
        t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))  # Platt's smoothed targets
        mu, sd = x.mean(), x.std() or 1.0
        z = (x - mu) / sd
        w = np.zeros(2)
        for _ in range(iterations):
            p = 1 / (1 + np.exp(-(w[0] * z + w[1])))
            g = np.array([np.dot(p - t, z), np.sum(p - t)])
            h = p * (1 - p)
            hess = np.array([[np.dot(h, z * z), np.dot(h, z)], [np.dot(h, z), h.sum()]]) + 1e-9 * np.eye(2)
            step = np.linalg.solve(hess, g)
            w -= step
            if np.abs(step).max() < 1e-10:
                break
        return cls(a=w[0] / sd, b=w[1] - w[0] * mu / sd)

    @classmethod
    def fit_heldout(cls, model: LinkPredictor, train: KGraph, heldout: KGraph, top_k: int = 10,
                    seed: int = 0) -> "Calibrator":
        """Fit on held-out edges: each held-out (head, type) query's top-``k`` candidates
        (known training triples removed) are labelled true if they are held out. The ECE
        is measured on half of the queries with a calibrator fitted on the other half."""
        from kgcomplete.evaluate import expected_calibration_error

        scores, labels, query = _heldout_candidates(model, train, heldout, top_k)
        halves = np.random.default_rng(seed).random(int(query.max()) + 1) < 0.5
        a, b = halves[query], ~halves[query]
        ece = None
        if labels[a].min() != labels[a].max() and b.any():
            ece = expected_calibration_error(cls.fit(scores[a], labels[a])(scores[b]), labels[b])
        out = cls.fit(scores, labels)
        out.ece = ece
        return out


@torch.no_grad()
def _heldout_candidates(model: LinkPredictor, train: KGraph, heldout: KGraph, top_k: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if heldout.num_triples == 0:
        raise GraphError("calibration needs held-out edges, and the held-out split is empty")
    model.eval()
    R = train.num_relations
    both = np.concatenate([heldout.triples, heldout.triples[:, [2, 1, 0]] + [0, R, 0]])
    queries, inverse = np.unique(both[:, :2], axis=0, return_inverse=True)
    truth = set(map(tuple, both.tolist()))
    known = train.triples
    known_both = np.concatenate([known, known[:, [2, 1, 0]] + [0, R, 0]])
    known_set = set(map(tuple, known_both.tolist()))
    scores, labels, qid = [], [], []
    for start in range(0, len(queries), 256):
        q = torch.as_tensor(queries[start:start + 256])
        rel = q[:, 1]
        s = torch.where(rel[:, None] < R, model.score_tails(q[:, 0], rel % R), model.score_heads(rel % R, q[:, 0]))
        for row, (e, r) in enumerate(q.tolist()):
            sc = s[row]
            cand = torch.topk(sc, min(top_k + 50, sc.numel())).indices.tolist()
            kept = [c for c in cand if (e, r, c) not in known_set][:top_k]
            for c in kept:
                scores.append(float(sc[c]))
                labels.append(1.0 if (e, r, c) in truth else 0.0)
                qid.append(start + row)
    return np.asarray(scores), np.asarray(labels), np.asarray(qid)


def _feedback_keys(triple: Triple) -> tuple[tuple[str, ...], ...]:
    head, rel, tail = triple
    return (("type", rel), ("tail", rel, tail), ("head", head, rel))


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
    return (E & allowed[None, :]).any(axis=1)


def _keys_to_indices(graph: KGraph, triples: Iterable[Triple]) -> set[tuple[int, int, int]]:
    e, r = graph.entity_index(), graph.relation_index()
    return {(e[h], r[t], e[o]) for h, t, o in triples if h in e and t in r and o in e}


@torch.no_grad()
def suggest(model: LinkPredictor, graph: KGraph, calibrator: Calibrator, policy: SuggestPolicy | None = None,
            *, exclude: Sequence[Triple] = (), model_name: str | None = None, rules: PathRules | None = None,
            batch_size: int = 512) -> list[Suggestion]:
    """Top candidates of ``model`` on ``graph`` (its training vocabulary), filtered,
    calibrated and explained; most probable first. ``exclude`` holds (head key, type,
    tail key) that must not be proposed (pending and rejected suggestions)."""
    policy = policy or SuggestPolicy()
    model.eval()
    names = policy.relation_types or list(graph.relations)
    r_index = graph.relation_index()
    unknown = [n for n in names if n not in r_index]
    if unknown:
        raise GraphError(f"cannot suggest unknown relationship type(s) {unknown}: the graph has "
                         f"{', '.join(graph.relations[:10])}")
    blocked = graph.known() | _keys_to_indices(graph, exclude)
    R, N = graph.num_relations, graph.num_entities
    found: dict[tuple[int, int, int], tuple[float, int]] = {}
    for name in names:
        r = r_index[name]
        override = policy.type_constraints.get(name)
        ok_head, ok_tail = allowed_entities(graph, r, 0, override), allowed_entities(graph, r, 2, override)
        for side, (anchors, targets) in enumerate(((ok_head, ok_tail), (ok_tail, ok_head))):
            idx = np.flatnonzero(anchors)
            bad = torch.as_tensor(~targets)
            for start in range(0, len(idx), batch_size):
                a = torch.as_tensor(idx[start:start + batch_size])
                rel = torch.full_like(a, r)
                s = model.score_tails(a, rel) if side == 0 else model.score_heads(rel, a)
                s = s.masked_fill(bad[None, :], float("-inf"))
                s[torch.arange(len(a)), a] = float("-inf")  # no self-loops
                k = min(policy.top_k + 20, N)
                top_s, top_i = torch.topk(s, k, dim=1)
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
    if not found:
        return []
    trips = np.array(list(found), dtype=np.int64)
    raw = np.array([found[t][0] for t in found], dtype=np.float64)
    e, rel = graph.entities, graph.relations
    probs = calibrator(raw, [(e[h], rel[r], e[t]) for h, r, t in trips.tolist()])
    order = np.argsort(-probs, kind="stable")
    order = order[probs[order] >= policy.min_probability][: policy.max_total]
    rules = rules if rules is not None else _rules_for(graph)
    label = model_name or type(model).__name__
    out = []
    for i in order.tolist():
        h, r, t = trips[i].tolist()
        out.append(Suggestion(head=graph.entities[h], type=graph.relations[r], tail=graph.entities[t],
                              score=float(raw[i]), probability=float(probs[i]), rank=found[(h, r, t)][1],
                              evidence=evidence(graph, rules, h, r, t), model=label))
    return out


def _rules_for(graph: KGraph) -> PathRules:
    rules = PathRules(graph.num_entities, graph.num_relations)
    rules.entities, rules.relations = list(graph.entities), list(graph.relations)
    rules.prepare(graph)
    return rules


def evidence(graph: KGraph, rules: PathRules, head: int, relation: int, tail: int, limit: int = 3) -> list[str]:
    """Up to ``limit`` short reasons for ``(head, relation, tail)`` an analyst can check."""
    out = [f"{text} [confidence {conf:.2f}]" for text, conf in rules.explain(head, relation, tail, max_paths=2)]
    if len(out) < limit:
        mask = graph.triples[:, 1] == relation
        has = set(graph.triples[mask & (graph.triples[:, 2] == tail)][:, 0].tolist())
        t = graph.triples
        nbrs = set(t[t[:, 0] == head][:, 2].tolist()) | set(t[t[:, 2] == head][:, 0].tolist())
        shared = sorted(nbrs & has)[:3]
        if shared:
            who = ", ".join(graph.display_name(x) for x in shared)
            out.append(f"neighbours of {graph.display_name(head)} with {graph.relations[relation]} -> "
                       f"{graph.display_name(tail)}: {who}")
    return out[:limit]
