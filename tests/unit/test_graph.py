"""KGraph: construction, splitting, persistence, conversion to PyG."""

from __future__ import annotations

import numpy as np
import pytest

from kgcomplete.errors import GraphError, InputFileError
from kgcomplete.graph import KGraph


def ring(n: int = 30) -> KGraph:
    rows = [(f"e{i}", "NEXT", f"e{(i + 1) % n}") for i in range(n)]
    rows += [(f"e{i}", "SKIP", f"e{(i + 2) % n}") for i in range(n)]
    return KGraph.from_labeled_triples(rows)


def test_from_labeled_triples_indexes_in_order_of_appearance():
    g = KGraph.from_labeled_triples([("a", "R", "b"), ("b", "S", "c")])
    assert g.entities == ["a", "b", "c"] and g.relations == ["R", "S"]
    assert g.triples.tolist() == [[0, 0, 1], [1, 1, 2]]
    assert g.labeled_triples() == [("a", "R", "b"), ("b", "S", "c")]


def test_out_of_range_triple_is_rejected():
    with pytest.raises(GraphError, match="entity index"):
        KGraph(entities=["a"], relations=["R"], triples=np.array([[0, 0, 1]]))


def test_split_is_a_partition_and_keeps_every_entity_in_train():
    g = ring()
    train, valid, test = g.split(valid=0.2, test=0.2, seed=3)
    parts = [set(map(tuple, p.triples.tolist())) for p in (train, valid, test)]
    assert sum(len(p) for p in parts) == g.num_triples
    assert parts[0] | parts[1] | parts[2] == g.known()
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[1]) > 0 and len(parts[2]) > 0
    in_train = set(train.triples[:, [0, 2]].ravel().tolist())
    held = np.concatenate([valid.triples, test.triples])
    assert set(held[:, [0, 2]].ravel().tolist()) <= in_train
    # same seed, same split; other seed, other split
    assert (g.split(0.2, 0.2, seed=3)[2].triples == test.triples).all()
    assert not np.array_equal(g.split(0.2, 0.2, seed=4)[2].triples, test.triples)


def test_split_moves_back_a_triple_whose_entity_would_vanish():
    g = KGraph.from_labeled_triples([("a", "R", "b"), ("b", "R", "c"), ("c", "R", "a"), ("lonely", "R", "a")])
    for seed in range(10):
        train, _, _ = g.split(valid=0.25, test=0.25, seed=seed)
        assert g.entities.index("lonely") in train.triples[:, 0].tolist()


def test_save_load_round_trip(tmp_path):
    g = ring()
    g.labels = ["Thing", "Odd `label` é"]
    g.entity_labels = np.random.default_rng(0).random((g.num_entities, 2)) > 0.5
    g.feature_names = ["age"]
    g.features = np.arange(g.num_entities, dtype=np.float32)[:, None]
    g.names = [f"name {i}" for i in range(g.num_entities)]
    g.relation_labels = {"NEXT": "next one"}
    path = g.save(tmp_path / "g.npz")
    h = KGraph.load(path)
    assert h.entities == g.entities and h.relations == g.relations and h.labels == g.labels
    assert np.array_equal(h.triples, g.triples) and np.array_equal(h.entity_labels, g.entity_labels)
    assert np.array_equal(h.features, g.features) and h.names == g.names
    assert h.relation_labels == g.relation_labels


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_text("not a snapshot")
    with pytest.raises(InputFileError, match="x.npz"):
        KGraph.load(bad)


def test_to_pyg_and_hetero():
    g = ring(10)
    g.labels = ["A", "B"]
    lab = np.zeros((10, 2), dtype=bool)
    lab[:5, 0] = True
    lab[5:, 1] = True
    g.entity_labels = lab
    data = g.to_pyg()
    assert data.num_nodes == 10 and data.edge_index.shape == (2, 20)
    assert data.edge_type.tolist() == g.triples[:, 1].tolist()
    assert data.x.shape == (10, 2)
    het = g.to_hetero()
    assert set(het.node_types) == {"A", "B"}
    assert sum(het[et].edge_index.shape[1] for et in het.edge_types) == 20
    # local rows map back to the right entities
    a_rows = het["A"].entity.tolist()
    assert a_rows == [0, 1, 2, 3, 4]


def test_stable_split_keeps_triples_on_their_side_when_the_graph_changes():
    rng = np.random.default_rng(0)
    rows = list(dict.fromkeys((f"e{a}", f"r{a % 7}", f"e{b}") for a, b in rng.integers(0, 300, (4000, 2)).tolist()))
    before = KGraph.from_labeled_triples(rows)
    after = KGraph.from_labeled_triples(rows[40:] + [("e1", "r_new", "e999"), ("e2", "r1", "e3")])  # ~1% changed
    _, v1, _ = before.split(valid=0.1, test=0.0, stable=True)
    tr2, v2, _ = after.split(valid=0.1, test=0.0, stable=True)
    old_valid = set(v1.labeled_triples()) & set(after.labeled_triples())
    assert len(old_valid & set(v2.labeled_triples())) >= 0.95 * len(old_valid)
    assert not old_valid & set(tr2.labeled_triples()) - set(v2.labeled_triples()) or \
        len(old_valid & set(tr2.labeled_triples())) <= 0.05 * len(old_valid)
    _, r1, _ = before.split(valid=0.1, test=0.0, seed=0)
    _, r2, _ = after.split(valid=0.1, test=0.0, seed=0)
    assert len(set(r1.labeled_triples()) & set(r2.labeled_triples())) < 0.5 * len(old_valid)  # the random one does not
    assert after.split(valid=0.1, test=0.0, stable=True)[1].labeled_triples() == v2.labeled_triples()


def test_out_and_in_edges_are_the_rows_a_scan_finds():
    rng = np.random.default_rng(0)
    t = np.stack([rng.integers(0, 30, 500), rng.integers(0, 4, 500), rng.integers(0, 30, 500)], 1)
    g = KGraph(entities=[str(i) for i in range(30)], relations=list("abcd"), triples=t)
    for e in range(30):
        assert np.array_equal(g.out_edges(e), t[t[:, 0] == e])
        assert np.array_equal(g.in_edges(e), t[t[:, 2] == e])
