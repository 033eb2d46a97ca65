"""Candidate search at scale: blocked keys, the approximate (FAISS) search against the exact one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgcomplete.config import load_settings
from kgcomplete.errors import ConfigError, GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models import make_model
from kgcomplete.proposals import candidates as cand
from kgcomplete.proposals import vector_index
from kgcomplete.proposals.blocked import BlockedTriples, split_keys, triple_keys
from kgcomplete.proposals.candidates import SuggestPolicy, find_candidates
from kgcomplete.proposals.vector_index import VectorIndex


def clustered(model_name: str = "complex", n: int = 3000, clusters: int = 12, dim: int = 32, seed: int = 0):
    """A graph of ``n`` entities and two relationship types, and a model whose entity
    vectors sit around ``clusters`` centres: each query's best targets share a cell."""
    rng = np.random.default_rng(seed)
    rows = [(f"e{i}", "R0" if i % 2 else "R1", f"e{(i * 7 + 1) % n}") for i in range(n)]
    g = KGraph.from_labeled_triples(rows)
    model = make_model(model_name, g.num_entities, g.num_relations, dim=dim)
    centres = rng.normal(size=(clusters, model.entity.weight.shape[1])) * 3
    vectors = centres[rng.integers(0, clusters, g.num_entities)] + rng.normal(size=(g.num_entities, centres.shape[1]))
    with torch.no_grad():
        model.entity.weight.copy_(torch.as_tensor(vectors, dtype=torch.float32))
        model.relation.weight.copy_(torch.as_tensor(rng.normal(size=model.relation.weight.shape) * 0.5 + 1,
                                                    dtype=torch.float32))
    model.entities, model.relations = g.entities, g.relations
    return g, model


def blocked_of(g: KGraph, *more: np.ndarray) -> BlockedTriples:
    return BlockedTriples.of(g.triples, *more, num_entities=g.num_entities, num_relations=g.num_relations)


def as_dict(found) -> dict[tuple[int, int, int], int]:
    return {tuple(t): int(r) for t, r in zip(found.triples.tolist(), found.ranks.tolist())}


def test_triple_keys_round_trip_and_blocked_lookup():
    trips = np.array([[0, 1, 2], [9_999_999, 99, 9_999_999], [5, 0, 0]])
    keys = triple_keys(trips[:, 0], trips[:, 1], trips[:, 2], 10_000_000, 100)
    assert keys.dtype == np.int64 and (split_keys(keys, 10_000_000, 100) == trips).all()
    b = BlockedTriples.of(trips, trips[:1], num_entities=10_000_000, num_relations=100)
    assert len(b) == 3
    assert b.contains([0, 5, 5], [1, 0, 1], [2, 0, 0]).tolist() == [True, True, False]
    assert not BlockedTriples.of(np.zeros((0, 3)), num_entities=3, num_relations=1).contains([0], [0], [1]).any()
    with pytest.raises(GraphError, match="too many"):
        triple_keys([0], [0], [0], 10**9, 10**2)


def test_approximate_search_finds_what_the_exact_one_does():
    g, model = clustered()
    asked = []
    search = VectorIndex.search
    VectorIndex.search = lambda self, q, k: asked.append(len(q)) or search(self, q, k)  # type: ignore[method-assign]
    try:
        approx = find_candidates(model, g, SuggestPolicy(top_k=10, search="approximate"), blocked_of(g))
    finally:
        VectorIndex.search = search  # type: ignore[method-assign]
    exact = find_candidates(model, g, SuggestPolicy(top_k=10, search="exact"), blocked_of(g))
    assert approx.search == "approximate" and sum(asked) == approx.queries["approximate"] == 4 * g.num_entities
    assert exact.search == "exact" and exact.queries == {"exact": 4 * g.num_entities, "approximate": 0}
    a, e = set(as_dict(approx)), set(as_dict(exact))
    assert len(a) > 0.9 * len(e) and len(a & e) >= 0.95 * len(e)
    # the index is quantised (not the exact float scan of small target sets), and a query
    # rescores 4 x 31 of the 3,000 targets
    index = VectorIndex(model.entity_vectors().detach().numpy(), "inner_product")
    assert g.num_entities >= vector_index.MIN_QUANTISED and index.subquantizers == 32


@pytest.mark.parametrize("model_name", ["complex", "distmult", "transe", "rotate"])
def test_rescoring_every_target_gives_the_exact_answer(model_name):
    g, model = clustered(model_name, n=1500)
    policy = dict(top_k=5, relation_types=["R0"])
    exact = find_candidates(model, g, SuggestPolicy(**policy, search="exact"), blocked_of(g))
    full = find_candidates(model, g, SuggestPolicy(**policy, search="approximate", rerank=10**6), blocked_of(g))
    assert full.search == "approximate" and as_dict(full) == as_dict(exact)
    order = np.lexsort(full.triples.T[::-1]), np.lexsort(exact.triples.T[::-1])
    assert np.allclose(full.scores[order[0]], exact.scores[order[1]], atol=1e-4)


def test_blocked_triples_are_never_returned_by_either_search():
    g, model = clustered(n=1200)
    first = find_candidates(model, g, SuggestPolicy(top_k=5, search="exact"), blocked_of(g))
    banned = first.triples[first.ranks <= 2]  # the best two of every query
    blocked = blocked_of(g, banned)
    for search in ("exact", "approximate"):
        found = find_candidates(model, g, SuggestPolicy(top_k=5, search=search, rerank=10**6), blocked)
        assert len(found) and not blocked.contains(*found.triples.T).any()
        assert not (found.triples[:, 0] == found.triples[:, 2]).any()
        assert as_dict(found).keys() >= {tuple(t) for t in first.triples[first.ranks == 3].tolist()}


def test_auto_asks_an_index_only_from_the_threshold_and_for_models_with_vectors(monkeypatch):
    g, model = clustered(n=600)
    said: list[str] = []
    assert find_candidates(model, g, SuggestPolicy(), blocked_of(g), echo=said.append).search == "exact"
    monkeypatch.setattr(cand, "AUTO_APPROXIMATE_TARGETS", 500)
    assert find_candidates(model, g, SuggestPolicy(), blocked_of(g), echo=said.append).search == "approximate"
    assert any("approximate over 600 targets" in s for s in said)
    rules = make_model("common_neighbours", g.num_entities, g.num_relations)
    rules.prepare(g)
    said.clear()
    found = find_candidates(rules, g, SuggestPolicy(search="approximate"), blocked_of(g), echo=said.append)
    assert found.search == "exact" and any("CommonNeighbours has no vector form" in s for s in said)


def test_the_search_setting_is_checked():
    assert load_settings(None, env={}, suggest={"search": "approximate", "rerank": 8}).suggest.rerank == 8
    with pytest.raises(ConfigError, match=r"suggest\.search"):
        load_settings(None, env={}, suggest={"search": "fast"})
    with pytest.raises(ConfigError, match=r"suggest\.rerank"):
        load_settings(None, env={}, suggest={"rerank": 0})
    with pytest.raises(ConfigError, match="unknown search 'fast'"):
        SuggestPolicy(search="fast")
    with pytest.raises(ConfigError, match="rerank"):
        SuggestPolicy(rerank=0)
