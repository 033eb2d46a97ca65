"""Filtered ranking against a brute-force reference, ties, AUC-PR, calibration, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgcomplete.errors import GraphError
from kgcomplete.evaluation.ranking import (
    KnownAnswers,
    auc_pr,
    average_precision,
    evaluate,
    expected_calibration_error,
    rank_metrics,
    rank_triples,
    sample_negatives,
)
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor


class TableModel(LinkPredictor):
    """Scores from a fixed table ``(2R, N, N)``: the right ranks are computable by hand."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__(table.shape[1], table.shape[0] // 2)
        self.register_buffer("table", table.float())

    def score_queries(self, entity, relation, state=None):
        return self.table[relation, entity]


def brute_force_rank(table: np.ndarray, known: set, h: int, r: int, t: int, R: int) -> tuple[float, float]:
    """Realistic filtered (tail rank, head rank) by the textbook definition, one by one."""
    N = table.shape[1]
    out = []
    for query, answer, is_true in (((r, h), t, lambda e: (h, r, e) in known),
                                   ((r + R, t), h, lambda e: (e, r, t) in known)):
        s = table[query[0], query[1]]
        rivals = [e for e in range(N) if e != answer and not is_true(e)]
        better = sum(s[e] > s[answer] for e in rivals)
        tied = sum(s[e] == s[answer] for e in rivals)
        out.append(((1 + better) + (1 + better + tied)) / 2)
    return out[0], out[1]


def test_filtered_ranks_match_brute_force_with_ties():
    rng = np.random.default_rng(0)
    N, R = 12, 3
    table = rng.integers(0, 4, size=(2 * R, N, N))  # few distinct values: many ties
    triples = np.unique(np.stack([rng.integers(0, N, 80), rng.integers(0, R, 80), rng.integers(0, N, 80)], 1), axis=0)
    test, known = triples[:25], triples[25:]
    model = TableModel(torch.as_tensor(table))
    tail, head = rank_triples(model, test, known, batch_size=7)
    known_set = set(map(tuple, np.concatenate([known, test]).tolist()))
    for i, (h, r, t) in enumerate(test.tolist()):
        ref_tail, ref_head = brute_force_rank(table, known_set, h, r, t, R)
        assert tail[i] == pytest.approx(ref_tail)
        assert head[i] == pytest.approx(ref_head)
    assert np.any(tail != np.round(tail)), "the toy case should contain ties"


def test_all_tied_scores_give_the_middle_rank():
    N, R = 10, 1
    model = TableModel(torch.zeros(2 * R, N, N))
    tail, head = rank_triples(model, np.array([[0, 0, 1]]), None)
    assert tail[0] == pytest.approx((1 + N) / 2) and head[0] == pytest.approx((1 + N) / 2)
    # filtering two other true tails removes them from the tie
    tail, _ = rank_triples(model, np.array([[0, 0, 1]]), np.array([[0, 0, 2], [0, 0, 3]]))
    assert tail[0] == pytest.approx((1 + N - 2) / 2)


def test_known_answers_lookup():
    triples = np.array([[0, 0, 1], [0, 0, 2], [1, 1, 0], [2, 0, 1]])
    answers = KnownAnswers(triples, num_relations=2)
    rows, cols = answers.lookup(torch.tensor([0, 1, 1, 3]), torch.tensor([0, 2, 0, 1]))
    found = sorted(zip(rows.tolist(), cols.tolist()))
    # (0, r0, ?) -> 1, 2 ; (1, r0^-1, ?) -> 0 and 2 ; (1, r0, ?) -> none ; (3, r1, ?) -> none
    assert found == [(0, 1), (0, 2), (1, 0), (1, 2)]


def test_metrics_and_per_relation():
    ranks = np.array([1.0, 2.0, 4.0, 20.0])
    m = rank_metrics(ranks)
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0.25 + 0.05) / 4)
    assert (m["hits_at_1"], m["hits_at_3"], m["hits_at_10"]) == (0.25, 0.5, 0.75)
    N = 5
    table = torch.zeros(2, N, N)
    table[0, torch.arange(N), (torch.arange(N) + 1) % N] = 1.0  # r0: i -> i+1
    table[1, (torch.arange(N) + 1) % N, torch.arange(N)] = 1.0  # reciprocal
    g = KGraph(entities=list("abcde"), relations=["next"], triples=np.array([[0, 0, 1], [1, 0, 2]]))
    out = evaluate(TableModel(table), g)
    assert out["mrr"] == 1.0 and out["per_relation"]["next"] == {"mrr": 1.0, "hits_at_10": 1.0, "count": 2}


def test_bad_input_is_a_clear_error():
    model = TableModel(torch.zeros(2, 4, 4))
    with pytest.raises(GraphError, match="empty"):
        rank_triples(model, np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(GraphError, match="unknown relation index 3"):
        rank_triples(model, np.array([[0, 3, 1]]))
    with pytest.raises(GraphError, match="unknown relation index 1"):
        model.score_tails(torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(GraphError, match="entity"):
        rank_triples(model, np.array([[0, 0, 9]]))
    with pytest.raises(GraphError, match="empty"):
        rank_metrics(np.array([]))


def test_average_precision_and_auc_pr():
    assert average_precision(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    # positives at positions 1 and 3: AP = (1/1 + 2/3) / 2
    assert average_precision(np.array([0.9, 0.5, 0.4]), np.array([1, 0, 1])) == pytest.approx((1 + 2 / 3) / 2)
    N = 30
    table = torch.zeros(2, N, N)
    table[0, torch.arange(N - 1), torch.arange(1, N)] = 1.0
    test = np.stack([np.arange(N - 1), np.zeros(N - 1, dtype=int), np.arange(1, N)], 1)
    assert auc_pr(TableModel(table), test, num_negatives=3) == 1.0
    rng = torch.Generator().manual_seed(0)
    noisy = TableModel(torch.rand(2, N, N, generator=rng))
    assert auc_pr(noisy, test, num_negatives=3) < 0.6


def test_sampled_negatives_are_not_known():
    rng = np.random.default_rng(1)
    known = np.stack([rng.integers(0, 15, 60), rng.integers(0, 2, 60), rng.integers(0, 15, 60)], 1)
    neg = sample_negatives(known[:20], 15, known, num_negatives=2, seed=3)
    assert neg.shape == (40, 3)
    known_set = set(map(tuple, known.tolist()))
    assert sum(tuple(n) in known_set for n in neg.tolist()) == 0
    pos = np.repeat(known[:20], 2, axis=0)
    assert np.array_equal(neg[:, 1], pos[:, 1])
    assert np.all((neg[:, 0] == pos[:, 0]) | (neg[:, 2] == pos[:, 2])), "only one side is corrupted"


def test_expected_calibration_error():
    assert expected_calibration_error(np.array([0.05, 0.95]), np.array([0, 1]), bins=10) == pytest.approx(0.05)
    probs = np.full(100, 0.75)
    labels = np.r_[np.ones(75), np.zeros(25)]
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(4, 0.9), np.zeros(4)) == pytest.approx(0.9)
    with pytest.raises(GraphError):
        expected_calibration_error(np.array([0.5]), np.array([1, 0]))
