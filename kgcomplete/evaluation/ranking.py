"""Filtered rank metrics, AUC-PR and calibration error for link predictors.

Every test triple ``(h, r, t)`` is ranked twice: ``t`` against all entities for
``(h, r, ?)`` and ``h`` against all entities for ``(?, r, t)``. Other known true answers
(from train, valid and test) are removed before ranking (the *filtered* setting of Bordes
et al., 2013). Ties are counted realistically: the rank is the mean of the optimistic rank
(``1 + #better``) and the pessimistic rank (``1 + #better + #tied``), as in PyKEEN.

Example:
    >>> metrics = evaluate(model, ds.test, known=ds.all_triples())
    >>> metrics["mrr"], metrics["hits_at_10"]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor, reciprocal_queries

HITS_AT = (1, 3, 10)


class KnownAnswers:
    """Every known answer of every ``(entity, relation)`` query, for filtering.

    Queries use reciprocal relations: ``(h, r, ?)`` has key ``h * 2R + r`` and answers
    ``t``; ``(?, r, t)`` has key ``t * 2R + r + R`` and answers ``h``. Stored sorted, so the
    answers of a batch of queries are found with two binary searches (no Python loops).

    Args:
        triples: ``shape: (n, 3), dtype: long`` known true triples.
        num_relations: ``R``.
    """

    def __init__(self, triples: np.ndarray, num_relations: int) -> None:
        t = torch.as_tensor(np.asarray(triples, dtype=np.int64).reshape(-1, 3))
        self.width = 2 * num_relations
        keys = torch.cat([t[:, 0] * self.width + t[:, 1], t[:, 2] * self.width + t[:, 1] + num_relations])
        answers = torch.cat([t[:, 2], t[:, 0]])
        order = torch.argsort(keys * (int(answers.max()) + 1 if len(answers) else 1) + answers)
        self.keys, self.answers = keys[order], answers[order]

    def lookup(self, entity: Tensor, relation: Tensor) -> tuple[Tensor, Tensor]:
        """(row, column) index pairs: row ``i`` of the batch has known answer ``column``."""
        key = entity * self.width + relation
        start = torch.searchsorted(self.keys, key, right=False)
        end = torch.searchsorted(self.keys, key, right=True)
        counts = end - start
        rows = torch.repeat_interleave(torch.arange(len(key)), counts)
        first = torch.repeat_interleave(start - (torch.cumsum(counts, 0) - counts), counts)
        cols = self.answers[first + torch.arange(int(counts.sum()))]
        return rows, cols


def filtered_ranks(scores: Tensor, target: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """Realistic filtered rank of ``target`` in each row of ``scores``.

    Args:
        scores: ``shape: (B, N)``.
        target: ``shape: (B,), dtype: long`` the true answer of each row.
        rows, cols: known answers to remove (from :meth:`KnownAnswers.lookup`).

    Returns:
        ``shape: (B,), dtype: float`` ranks in ``1..N``; mean of optimistic and pessimistic.
    """
    scores = scores.clone()
    arange = torch.arange(len(target))
    true = scores[arange, target].clone()
    scores[rows, cols] = float("-inf")
    scores[arange, target] = float("-inf")
    true = torch.nan_to_num(true, nan=float("-inf"))
    better = (scores > true[:, None]).sum(1)
    tied = (scores == true[:, None]).sum(1)
    return 1.0 + better.double() + 0.5 * tied.double()


@torch.no_grad()
def rank_triples(model: LinkPredictor, triples: np.ndarray, known: np.ndarray | None = None,
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Filtered realistic ranks of ``triples`` in both directions.

    Args:
        model: any :class:`LinkPredictor`.
        triples: ``shape: (n, 3)`` triples to rank.
        known: ``shape: (m, 3)`` true triples to filter out (train + valid + test); the
            ranked triples are always filtered. (default: :obj:`None`)
        batch_size: queries per forward pass. (default: :obj:`256`)

    Returns:
        ``(tail_ranks, head_ranks)``, each ``shape: (n,), dtype: float64``.
    """
    triples = _as_triples(triples, model)
    known = triples if known is None else np.concatenate([np.asarray(known).reshape(-1, 3), triples])
    answers = KnownAnswers(known, model.num_relations)
    was_training = model.training
    model.eval()
    try:
        state = model.cached_state()
        queries = reciprocal_queries(torch.as_tensor(triples), model.num_relations)
        ranks = []
        for i in range(0, len(queries), batch_size):
            e, r, y = queries[i:i + batch_size].unbind(1)
            scores = model.score_queries(e, r, state).float()
            rows, cols = answers.lookup(e, r)
            ranks.append(filtered_ranks(scores, y, rows, cols))
        both = torch.cat(ranks).numpy()
    finally:
        model.train(was_training)
    return both[:len(triples)], both[len(triples):]


def rank_metrics(ranks: np.ndarray) -> dict[str, float]:
    """MRR and Hits@1/3/10 of an array of ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise GraphError("no ranks to summarise: the evaluated split is empty")
    out = {"mrr": float(np.mean(1.0 / ranks))}
    for k in HITS_AT:
        out[f"hits_at_{k}"] = float(np.mean(ranks <= k))
    return out


def evaluate(model: LinkPredictor, test: KGraph | np.ndarray, known: np.ndarray | Sequence[KGraph] | None = None,
             *, batch_size: int = 256, per_relation: bool = True) -> dict:
    """Filtered link-prediction metrics of ``model`` on ``test``, both directions pooled.

    Args:
        model: any :class:`LinkPredictor`.
        test: the triples to rank (a :class:`KGraph` or ``shape: (n, 3)`` array).
        known: true triples to filter: an array or graphs (train, valid, test).
            (default: :obj:`None`, only ``test`` itself)
        batch_size: queries per forward pass. (default: :obj:`256`)
        per_relation: add ``"per_relation"``: ``{relation: {mrr, hits_at_10, count}}``.
            (default: :obj:`True`)

    Returns:
        ``{"mrr", "hits_at_1", "hits_at_3", "hits_at_10", "mrr_tail", "mrr_head",
        "count", "per_relation"}``.

    Raises:
        GraphError: the split is empty or names a relation/entity the model does not know.
    """
    triples = test.triples if isinstance(test, KGraph) else np.asarray(test)
    if known is not None and not isinstance(known, np.ndarray):
        known = np.concatenate([g.triples for g in known])
    tail, head = rank_triples(model, triples, known, batch_size)
    out: dict = rank_metrics(np.concatenate([tail, head]))
    out["mrr_tail"], out["mrr_head"] = float(np.mean(1 / tail)), float(np.mean(1 / head))
    out["count"] = int(len(tail))
    if per_relation:
        names = model.relations or (test.relations if isinstance(test, KGraph) else None)
        rel = np.asarray(triples).reshape(-1, 3)[:, 1]
        both = np.concatenate([tail, head])
        rel2 = np.concatenate([rel, rel])
        out["per_relation"] = {
            (names[r] if names else str(r)): {"mrr": float(np.mean(1 / both[rel2 == r])),
                                              "hits_at_10": float(np.mean(both[rel2 == r] <= 10)),
                                              "count": int((rel == r).sum())}
            for r in np.unique(rel).tolist()}
    return out


# ---------------------------------------------------------------------- binary view
def sample_negatives(triples: np.ndarray, num_entities: int, known: np.ndarray | None = None,
                     num_negatives: int = 1, seed: int = 0) -> np.ndarray:
    """Corrupt the head or the tail of each triple with a random entity, avoiding known
    true triples (best effort: 10 redraws). Returns ``shape: (n * num_negatives, 3)``."""
    rng = np.random.default_rng(seed)
    pos = np.repeat(np.asarray(triples, dtype=np.int64).reshape(-1, 3), num_negatives, axis=0)
    known = pos if known is None else np.concatenate([np.asarray(known).reshape(-1, 3), pos])
    width = int(max(known[:, 1].max(), 0)) + 1
    true_keys = np.unique((known[:, 0] * width + known[:, 1]) * num_entities + known[:, 2])
    neg = pos.copy()
    todo = np.ones(len(neg), dtype=bool)
    for _ in range(10):
        idx = np.flatnonzero(todo)
        if idx.size == 0:
            break
        side = np.where(rng.random(idx.size) < 0.5, 0, 2)
        neg[idx] = pos[idx]
        neg[idx, side] = rng.integers(0, num_entities, idx.size)
        keys = (neg[idx, 0] * width + neg[idx, 1]) * num_entities + neg[idx, 2]
        todo[idx] = np.isin(keys, true_keys)
    return neg


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision) of binary ``labels``."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    if labels.sum() == 0:
        raise GraphError("average precision needs at least one positive example")
    order = np.argsort(-scores, kind="stable")
    hits = labels[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


@torch.no_grad()
def auc_pr(model: LinkPredictor, test: KGraph | np.ndarray, known: np.ndarray | None = None,
           num_negatives: int = 1, seed: int = 0) -> float:
    """AUC-PR of telling test triples from sampled negatives by :meth:`score_triples`."""
    pos = _as_triples(test.triples if isinstance(test, KGraph) else test, model)
    neg = sample_negatives(pos, model.num_entities, known, num_negatives, seed)
    both = torch.as_tensor(np.concatenate([pos, neg]))
    was_training = model.training
    model.eval()
    try:
        scores = model.score_triples(both[:, 0], both[:, 1], both[:, 2]).float().numpy()
    finally:
        model.train(was_training)
    return average_precision(scores, np.r_[np.ones(len(pos)), np.zeros(len(neg))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: bin predictions by probability (equal-width bins) and
    average ``|mean predicted - observed frequency|`` weighted by the bin size."""
    probs, labels = np.asarray(probs, dtype=np.float64).ravel(), np.asarray(labels, dtype=np.float64).ravel()
    if probs.size == 0 or probs.size != labels.size:
        raise GraphError(f"calibration needs equally many probabilities and labels (got {probs.size}, {labels.size})")
    which = np.minimum((probs * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, probs, bins) - np.bincount(which, labels, bins))
    return float(gap.sum() / count.sum())


def _as_triples(triples: np.ndarray, model: LinkPredictor) -> np.ndarray:
    triples = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    if len(triples) == 0:
        raise GraphError("the split to evaluate is empty: nothing to rank")
    if triples[:, 1].min() < 0 or triples[:, 1].max() >= model.num_relations:
        bad = int(triples[:, 1].max())
        raise GraphError(f"unknown relation index {bad}: the model knows {model.num_relations} relations")
    if triples[:, [0, 2]].min() < 0 or triples[:, [0, 2]].max() >= model.num_entities:
        raise GraphError(f"an entity index is outside 0..{model.num_entities - 1}: the model knows "
                         f"{model.num_entities} entities")
    return triples
