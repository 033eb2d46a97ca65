"""The synthetic graphs of the scale benchmark: size, shape, patterns, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from kgcomplete.datasets.synthetic import synthetic_graph


@pytest.fixture(scope="module")
def kg():
    return synthetic_graph(50_000, seed=3)


def test_size_and_vocabulary(kg):
    t = kg.triples
    assert 0.98 * 50_000 <= len(t) <= 50_000
    assert kg.num_entities == 5_000 and len(kg.labels) == 20 and len(kg.relations) == 40
    assert (t[:, 0] != t[:, 2]).all()
    assert len(np.unique(t, axis=0)) == len(t)
    assert set(kg.kinds) == {"base", "inverse", "composition", "hierarchy"}


def test_same_seed_same_graph_other_seed_other_graph(kg):
    assert np.array_equal(kg.triples, synthetic_graph(50_000, seed=3).triples)
    assert not np.array_equal(kg.triples[:1000], synthetic_graph(50_000, seed=4).triples[:1000])


def test_degrees_follow_a_power_law(kg):
    degree = np.bincount(kg.triples[:, [0, 2]].ravel(), minlength=kg.num_entities)
    assert degree.max() >= 20 * np.median(degree[degree > 0])


def test_base_types_keep_their_domain_and_range(kg):
    for r, kind in enumerate(kg.kinds):
        if kind == "base":
            rows = kg.triples[kg.triples[:, 1] == r]
            assert len(np.unique(kg.entity_label[rows[:, 0]])) <= 2
            assert len(np.unique(kg.entity_label[rows[:, 2]])) <= 2


def test_inverse_types_mirror_a_base_type(kg):
    t = kg.triples
    keys = set(map(tuple, t[:, [0, 2]].tolist()))
    for r, kind in enumerate(kg.kinds):
        if kind == "inverse":
            rows = t[t[:, 1] == r]
            mirrored = np.mean([(b, a) in keys for a, b in rows[:, [0, 2]].tolist()])
            assert mirrored > 0.95      # the final trim to the size asked drops a few base edges


def test_test_split_keeps_every_entity_in_the_rest(kg):
    rest, test = kg.split_test(500, seed=0)
    assert 450 <= len(test) <= 500 and len(rest) + len(test) == len(kg.triples)
    seen = np.zeros(kg.num_entities, dtype=bool)
    seen[rest[:, [0, 2]].ravel()] = True
    assert seen[test[:, 0]].all() and seen[test[:, 2]].all()
