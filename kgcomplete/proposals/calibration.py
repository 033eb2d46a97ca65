"""Calibrated probabilities: what share of suggestions like this one were really missing.

A logistic model per relationship type (shrunk towards a shared one) of the model's score
and of the path rules that fire on the pair, fitted on exactly the decision it calibrates:
the same candidate search run on the graph without some held-out edges (is a candidate
one of them?). Its reliability is measured as expected calibration error on a second half
of the candidates. Analysts' reviews then shift it per type, (type, tail) and (head, type).

Example:
    >>> calib = Calibrator.fit_heldout(model, train, valid)             # doctest: +SKIP
    >>> calib(np.array([2.5]), [("india", "relstudents", "usa")])        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from kgcomplete.errors import GraphError
from kgcomplete.evaluation.ranking import expected_calibration_error
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.proposals.blocked import BlockedTriples
from kgcomplete.proposals.candidates import SuggestPolicy, find_candidates
from kgcomplete.proposals.evidence import mine_rules, rule_scores

Triple = tuple[str, str, str]

#: From this many entities up, calibration asks at most ``LARGE_GRAPH_QUERIES`` anchor queries
#: (below, up to ``max_anchors`` per type and direction, as the suggestions themselves).
LARGE_GRAPH = 50_000
LARGE_GRAPH_QUERIES = 20_000


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
        fired = rule_feature(rules) if rules is not None else np.zeros_like(x)
        if triples is not None and self.per_type:
            shared = (self.a, self.b, self.c)
            abc = np.array([self.per_type.get(t[1], shared) for t in triples]).reshape(-1, 3)
            z = abc[:, 0] * x + abc[:, 1] + abc[:, 2] * fired
        else:
            z = self.a * x + self.b + self.c * fired
        if triples is not None and self.offsets:
            z = z + np.array([sum(self.offsets.get(k, 0.0) for k in _feedback_keys(t)) for t in triples])
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def _copy(self, **changes: object) -> Calibrator:
        fields: dict[str, Any] = dict(a=self.a, b=self.b, c=self.c, ece=self.ece, offsets=self.offsets,
                                      per_type=self.per_type, ece_top=self.ece_top)
        fields.update(changes)
        return Calibrator(**fields)  # type: ignore[arg-type]

    def with_feedback(self, outcomes: Sequence[tuple[Triple, float, bool]], prior: float = 2.0) -> Calibrator:
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
    def fit(cls, scores: np.ndarray, labels: np.ndarray, types: Sequence[str] | np.ndarray | None = None,
            prior: float = 10.0, rules: np.ndarray | None = None) -> Calibrator:
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
        names: list[str] = []
        group = np.zeros(len(x), dtype=np.int64)
        if types is not None:
            uniq, group = np.unique(np.asarray(types, dtype=str), return_inverse=True)
            names = uniq.tolist()
        n_pos, n_neg = y.sum(), len(y) - y.sum()
        t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))  # Platt's smoothed targets
        X = np.column_stack([x] + ([rule_feature(rules)] if rules is not None else []))
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
                    priors: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0), progress: bool = False) -> Calibrator:
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
        returned calibrator is fitted on all candidates. ``progress``: a bar (count, ETA)
        over the candidate search."""
        if heldout.num_triples == 0:
            raise GraphError("calibration needs held-out edges, and the held-out split is empty")
        policy = policy or SuggestPolicy()
        if train.num_entities >= LARGE_GRAPH:   # a few parameters per type: 20,000 queries are plenty
            policy = replace(policy, query_budget=min(policy.query_budget or LARGE_GRAPH_QUERIES, LARGE_GRAPH_QUERIES))
        rng = np.random.default_rng(seed)
        N, R = train.num_entities, train.num_relations
        found = find_candidates(model, train, policy, BlockedTriples.of(train.triples, num_entities=N, num_relations=R),
                                max_anchors=max_anchors, rng=rng, progress=progress)
        truth = BlockedTriples.of(heldout.triples, num_entities=N, num_relations=R)
        trips, scores = found.triples, found.scores
        labels = truth.contains(trips[:, 0], trips[:, 1], trips[:, 2]).astype(np.float64)
        if not labels.any():
            raise GraphError(f"cannot calibrate: none of the {heldout.num_triples} held-out edges is among the "
                             f"top-{policy.top_k} candidates of the graph without them; raise "
                             "model.valid_fraction or suggest.top_k, or train longer")
        types = np.asarray(train.relations, dtype=object)[trips[:, 1]]
        rules = rule_scores(mine_rules(train), trips) if use_rules else None

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


def rule_feature(rules: np.ndarray) -> np.ndarray:
    """``-log(1 - rule score)``: the summed ``-log(1 - confidence)`` of the firing rules."""
    return -np.log1p(-np.clip(np.asarray(rules, dtype=np.float64), 0.0, 1 - 1e-9))


def _feedback_keys(triple: Triple) -> tuple[tuple[str, ...], ...]:
    head, rel, tail = triple
    return (("type", rel), ("tail", rel, tail), ("head", head, rel))
