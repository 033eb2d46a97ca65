"""Proposals: scored candidate relationships with calibrated probabilities and evidence.

For each configured relationship type, every type-consistent entity is asked in both
directions, ``(head, type, ?)`` and ``(?, type, tail)``; the model scores all entities,
and the best ``top_k`` candidates that pass the filters become :class:`Suggestion` s:

- *type consistency*: a candidate's labels must meet the labels seen on that
  relationship's heads (tails) in the graph (overridable per type);
- *exclusions*: pairs that already have the real relationship, pending suggestions (unless
  asked to refresh them), rejected suggestions;
- a *calibrated probability*: a logistic model per relationship type (shrunk towards a
  shared one) of the model's score and of the path rules that fire on the pair, fitted on
  exactly the decision it calibrates: the same search run on the graph without some
  held-out edges (is a candidate one of them?); its reliability is measured as expected
  calibration error on a second half of the candidates;
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
        min_probability: drop suggestions below this calibrated probability. (default: 0.1)
        max_total: at most this many suggestions, most probable first. (default: 1000)
        type_constraints: per type, ``(head labels, tail labels)`` that override the ones
            learned from the graph; an empty list means "any".
    """

    relation_types: list[str] | None = None
    top_k: int = 5
    min_probability: float = 0.1
    max_total: int = 1000
    type_constraints: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)


class Calibrator:
    """A logistic model per relationship type, plus what reviews taught:
    ``probability = sigmoid(a_type * score + c_type * rules + b_type + offset)``, where
    ``rules = -log(1 - rule score)`` sums the log-odds-like weight of the path rules that
    fire on the pair (:class:`~kgcomplete.models.heuristics.PathRules`).

    Scores of different relationship types do not mean the same thing: a ComplEx score that
    makes a ``country of citizenship`` candidate likely can make a ``cast member`` candidate
    a long shot, and a rule such as "countries with diplomatic relations both ways" is
    worth more for some types than others. So each type has its own ``(a, b, c)``, shrunk
    towards the shared one by a Gaussian prior whose strength is chosen by cross-validation
    (:meth:`fit_heldout`). Types without their own use the shared ``(a, b, c)``; with
    ``c == 0`` (the default) the rules play no part and ``rules`` may be left out.

    The ``offsets`` (none by default) shift the log-odds of a suggestion by its
    relationship type, by (type, tail) and by (head, type): see :meth:`with_feedback`.
    """

    def __init__(self, a: float = 1.0, b: float = 0.0, ece: float | None = None,
                 offsets: dict[tuple[str, ...], float] | None = None,
                 per_type: dict[str, tuple[float, float, float]] | None = None, ece_top: float | None = None,
                 c: float = 0.0) -> None:
        self.a, self.b, self.c, self.ece = float(a), float(b), float(c), ece
        self.ece_top = ece_top  # the ECE among probabilities >= min_probability (see fit_heldout)
        self.offsets: dict[tuple[str, ...], float] = dict(offsets or {})
        self.per_type: dict[str, tuple[float, float, float]] = dict(per_type or {})

    @property
    def uses_rules(self) -> bool:
        """Whether probabilities depend on the path rules (so callers must pass ``rules``)."""
        return self.c != 0.0 or any(v[2] != 0.0 for v in self.per_type.values())

    def __call__(self, scores: np.ndarray, triples: Sequence[Triple] | None = None,
                 rules: np.ndarray | None = None) -> np.ndarray:
        """Probabilities of ``scores``; ``triples`` (head, type, tail keys) select the type's
        weights and the offsets (without them the shared weights apply); ``rules`` are the
        rule scores in ``[0, 1)`` of the same candidates."""
        x = np.asarray(scores, dtype=np.float64)
        if rules is None and self.uses_rules:
            raise ValueError("this calibrator weighs path rules: pass the candidates' rule scores")
        fired = _rule_feature(rules) if rules is not None else np.zeros_like(x)
        if triples is not None and self.per_type:
            shared = (self.a, self.b, self.c)
            abc = np.array([self.per_type.get(t[1], shared) for t in triples]).reshape(-1, 3)
            z = abc[:, 0] * x + abc[:, 1] + abc[:, 2] * fired
        else:
            z = self.a * x + self.b + self.c * fired
        if triples is not None and self.offsets:
            z = z + np.array([sum(self.offsets.get(k, 0.0) for k in _feedback_keys(t)) for t in triples])
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def _copy(self, **changes: object) -> "Calibrator":
        fields = dict(a=self.a, b=self.b, c=self.c, ece=self.ece, offsets=self.offsets, per_type=self.per_type,
                      ece_top=self.ece_top)
        fields.update(changes)
        return Calibrator(**fields)  # type: ignore[arg-type]

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
            return self._copy()
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
        return self._copy(offsets=offsets)

    @classmethod
    def fit(cls, scores: np.ndarray, labels: np.ndarray, types: Sequence[str] | None = None,
            prior: float = 10.0, rules: np.ndarray | None = None) -> "Calibrator":
        """Logistic regression of ``labels`` on ``scores`` (and on the rule feature of
        ``rules``, the candidates' rule scores, when given) with Platt's smoothed targets.

        With ``types`` (one name per score), each type gets its own weights, deviating from
        the shared ones under a Gaussian prior of precision ``prior`` (in units of the
        standardised features): large ``prior`` means one set of weights for all types.
        """
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if x.size == 0 or y.min() == y.max():
            raise GraphError("calibration needs held-out candidates of both kinds (true and false)")
        names, group = (np.unique(np.asarray(types, dtype=str), return_inverse=True) if types is not None
                        else ([], np.zeros(len(x), dtype=np.int64)))
        n_pos, n_neg = y.sum(), len(y) - y.sum()
        t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))  # Platt's smoothed targets
        X = np.column_stack([x] + ([_rule_feature(rules)] if rules is not None else []))
        mu, sd = X.mean(axis=0), X.std(axis=0)
        sd[sd == 0] = 1.0
        w, dw = _logistic(t, np.column_stack([(X - mu) / sd, np.ones(len(x))]), group, len(names), prior)

        def on_raw_features(v: np.ndarray) -> tuple[float, float, float]:
            slopes = v[:-1] / sd
            return float(slopes[0]), float(v[-1] - slopes @ mu), float(slopes[1]) if len(slopes) > 1 else 0.0

        per_type = {str(name): on_raw_features(w + dw[g]) for g, name in enumerate(names)}
        a, b, c = on_raw_features(w)
        return cls(a=a, b=b, c=c, per_type=per_type)

    @classmethod
    def fit_heldout(cls, model: LinkPredictor, train: KGraph, heldout: KGraph, policy: SuggestPolicy | None = None,
                    *, max_anchors: int = 2000, seed: int = 0, use_rules: bool = True,
                    priors: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0)) -> "Calibrator":
        """Fit on exactly the decision it calibrates: :func:`suggest` is run on ``train``
        (with ``policy``; at most ``max_anchors`` random anchors per type and direction),
        and each candidate is labelled true if it is a ``heldout`` edge. With ``use_rules``
        the path rules mined from ``train`` that fire on a candidate are a second feature.

        So a probability answers "how often is a suggestion like this one an edge that is
        really missing?", for a graph missing as many edges as were held out; analysts'
        reviews then correct it per type (:meth:`with_feedback`). The candidates are split
        in two halves at random. The per-type prior is the one of ``priors`` whose
        calibrator, fitted on one half, gives the other the lowest log loss (both ways
        round); the ECE is measured on one half with a calibrator fitted on the other; the
        returned calibrator is fitted on all candidates."""
        from kgcomplete.evaluate import expected_calibration_error

        if heldout.num_triples == 0:
            raise GraphError("calibration needs held-out edges, and the held-out split is empty")
        policy = policy or SuggestPolicy()
        rng = np.random.default_rng(seed)
        found = _candidates(model, train, policy, train.known(), max_anchors=max_anchors, rng=rng)
        truth = heldout.known()
        trips = list(found)
        scores = np.array([found[t][0] for t in trips], dtype=np.float64)
        labels = np.array([t in truth for t in trips], dtype=np.float64)
        if not labels.any():
            raise GraphError(f"cannot calibrate: none of the {heldout.num_triples} held-out edges is among the "
                             f"top-{policy.top_k} candidates of the graph without them; raise "
                             "model.valid_fraction or suggest.top_k, or train longer")
        types = np.asarray(train.relations, dtype=object)[[t[1] for t in trips]]
        rules = _rule_scores(_rules_for(train), np.array(trips)) if use_rules else None

        def part(m: np.ndarray) -> np.ndarray | None:
            return rules[m] if rules is not None else None

        half = rng.random(len(trips)) < 0.5
        prior, ece, ece_top = max(priors), None, None
        if all(labels[m].size and labels[m].min() != labels[m].max() for m in (half, ~half)):
            def keyed(m: np.ndarray) -> list[Triple]:
                return [("", ty, "") for ty in types[m]]

            def held_loss(pr: float) -> float:
                total = 0.0
                for fit_on, test_on in ((half, ~half), (~half, half)):
                    c = cls.fit(scores[fit_on], labels[fit_on], types[fit_on], pr, part(fit_on))
                    p = np.clip(c(scores[test_on], keyed(test_on), part(test_on)), 1e-9, 1 - 1e-9)
                    total -= np.sum(labels[test_on] * np.log(p) + (1 - labels[test_on]) * np.log(1 - p))
                return total

            prior = min(priors, key=held_loss)
            c = cls.fit(scores[half], labels[half], types[half], prior, part(half))
            p = c(scores[~half], keyed(~half), part(~half))
            ece = expected_calibration_error(p, labels[~half])
            top = p >= policy.min_probability
            if top.sum() >= 20:
                ece_top = expected_calibration_error(p[top], labels[~half][top])
        return cls.fit(scores, labels, types, prior, rules)._copy(ece=ece, ece_top=ece_top)


def _logistic(t: np.ndarray, X: np.ndarray, group: np.ndarray, groups: int, prior: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the cross-entropy of targets ``t`` under ``sigmoid(X @ (w + dw[g]))`` plus
    ``prior / 2 * |dw|^2``; returns ``w`` (one weight per column of ``X``) and ``dw``
    (one row per group; no rows when ``groups == 0``)."""
    from scipy.optimize import minimize

    F, G = X.shape[1], max(groups, 1)

    def loss(v: np.ndarray) -> tuple[float, np.ndarray]:
        w, dw = v[:F], v[F:].reshape(G, F)
        z = X @ w + np.einsum("ij,ij->i", X, dw[group])
        err = 1 / (1 + np.exp(-z)) - t
        nll = np.sum(np.logaddexp(0, z) - t * z) + 0.5 * prior * np.sum(dw * dw)
        grad_dw = np.column_stack([np.bincount(group, X[:, f] * err, G) for f in range(F)]) + prior * dw
        return nll, np.concatenate([X.T @ err, grad_dw.ravel()])

    v = minimize(loss, np.zeros(F * (1 + G)), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    w, dw = v[:F], v[F:].reshape(G, F)
    return w, (dw if groups else np.zeros((0, F)))


def _rule_feature(rules: np.ndarray) -> np.ndarray:
    """``-log(1 - rule score)``: the summed ``-log(1 - confidence)`` of the firing rules."""
    return -np.log1p(-np.clip(np.asarray(rules, dtype=np.float64), 0.0, 1 - 1e-9))


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
            explain: bool = True, batch_size: int = 512) -> list[Suggestion]:
    """Top candidates of ``model`` on ``graph`` (its training vocabulary), filtered,
    calibrated and (with ``explain``) given evidence; most probable first. ``exclude``
    holds (head key, type, tail key) that must not be proposed (pending and rejected
    suggestions). ``rules`` (mined from ``graph`` when needed and not given) feed the
    evidence and, when the calibrator weighs them, the probabilities."""
    policy = policy or SuggestPolicy()
    blocked = graph.known() | _keys_to_indices(graph, exclude)
    found = _candidates(model, graph, policy, blocked, batch_size=batch_size)
    if not found:
        return []
    trips = np.array(list(found), dtype=np.int64)
    raw = np.array([found[t][0] for t in found], dtype=np.float64)
    e, rel = graph.entities, graph.relations
    if rules is None and (explain or calibrator.uses_rules):
        rules = _rules_for(graph)
    fired = _rule_scores(rules, trips) if calibrator.uses_rules else None
    probs = calibrator(raw, [(e[h], rel[r], e[t]) for h, r, t in trips.tolist()], fired)
    order = np.argsort(-probs, kind="stable")
    order = order[probs[order] >= policy.min_probability][: policy.max_total]
    label = model_name or type(model).__name__
    out = []
    for i in order.tolist():
        h, r, t = trips[i].tolist()
        out.append(Suggestion(head=graph.entities[h], type=graph.relations[r], tail=graph.entities[t],
                              score=float(raw[i]), probability=float(probs[i]), rank=found[(h, r, t)][1],
                              evidence=evidence(graph, rules, h, r, t) if explain and rules is not None else [],
                              model=label))
    return out


@torch.no_grad()
def _candidates(model: LinkPredictor, graph: KGraph, policy: SuggestPolicy, blocked: set[tuple[int, int, int]], *,
                max_anchors: int | None = None, rng: np.random.Generator | None = None, batch_size: int = 512
                ) -> dict[tuple[int, int, int], tuple[float, int]]:
    """``{(head, type, tail): (score, best rank)}``: each type-consistent anchor's best
    ``policy.top_k`` unblocked candidates, asked in both directions (at most
    ``max_anchors`` random anchors per type and direction)."""
    model.eval()
    r_index = graph.relation_index()
    for what, names in (("suggest", policy.relation_types or []), ("constrain", list(policy.type_constraints))):
        unknown = [n for n in names if n not in r_index]
        if unknown:
            raise GraphError(f"cannot {what} unknown relationship type(s) {unknown}: the graph has "
                             f"{', '.join(graph.relations[:10])}")
    N = graph.num_entities
    found: dict[tuple[int, int, int], tuple[float, int]] = {}
    for name in policy.relation_types or list(graph.relations):
        r = r_index[name]
        override = policy.type_constraints.get(name)
        ok_head, ok_tail = allowed_entities(graph, r, 0, override), allowed_entities(graph, r, 2, override)
        for side, (anchors, targets) in enumerate(((ok_head, ok_tail), (ok_tail, ok_head))):
            idx = np.flatnonzero(anchors)
            if max_anchors is not None and len(idx) > max_anchors:
                idx = np.sort((rng or np.random.default_rng(0)).choice(idx, max_anchors, replace=False))
            bad = torch.as_tensor(~targets)
            for start in range(0, len(idx), batch_size):
                a = torch.as_tensor(idx[start:start + batch_size])
                rel = torch.full_like(a, r)
                s = model.score_tails(a, rel) if side == 0 else model.score_heads(rel, a)
                s = s.masked_fill(bad[None, :], float("-inf"))
                s[torch.arange(len(a)), a] = float("-inf")  # no self-loops
                top_s, top_i = torch.topk(s, min(policy.top_k + 20, N), dim=1)
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
    return found


def _rule_scores(rules: PathRules, trips: np.ndarray) -> np.ndarray:
    """The rule score (noisy-or of the firing rules' confidences) of each (head, type, tail) row."""
    h, r, t = (torch.as_tensor(trips[:, i]) for i in range(3))
    return rules.score_triples(h, r, t).double().numpy()


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
