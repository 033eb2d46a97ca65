"""Pulling snapshots from a real Neo4j: scopes, k-hop neighbourhoods, features, exclusions."""

from __future__ import annotations

import numpy as np
import pytest

from kgcomplete.config import GraphSettings
from kgcomplete.db.pull import pull
from kgcomplete.db.schema import ensure_key_constraint
from kgcomplete.errors import GraphError

GRAPH = """
CREATE (a:Entity:Chain {uid: 'a', name: 'Alice', age: 30, active: true}),
       (b:Entity:Chain {uid: 'b', age: 41.5}), (c:Entity:Chain {uid: 'c', title: 'text is no feature'}),
       (d:Entity {uid: 'd'}), (e:Entity {uid: 'e'}),
       (f:Entity {uid: 'f', score: 2}), (g:Entity {uid: 'g'}),
       (p1:Entity:Person {uid: 'p1'}), (p2:Entity:Person {uid: 'p2'}), (p3:Entity:Person:Robot {uid: 'p3'}),
       (x:Entity {uid: 'x'}), (y:Entity {uid: 'y'}),
       (nokey:Entity {name: 'no key'}),
       (s:SuggestedEntity {uid: 's', label: 'Person'}), (run:KGCRun {uid: 'run1'}),
       (a)-[:R]->(b), (b)-[:R]->(c), (c)-[:R]->(d), (d)-[:R]->(e),
       (a)-[:S]->(f), (f)-[:S]->(g),
       (p1)-[:T]->(a), (p2)-[:T]->(a), (p3)-[:T]->(a),
       (x)-[:R]->(y),
       (a)-[:SUGGESTED {type: 'R'}]->(c), (s)-[:SUGGESTED {type: 'T'}]->(a), (a)-[:R]->(nokey)
"""


@pytest.fixture
def small(driver, settings):
    ensure_key_constraint(driver, settings.graph, "neo4j")
    driver.execute_query(GRAPH, database_="neo4j")
    return driver


def edges(g) -> set[tuple[str, str, str]]:
    return set(g.labeled_triples())


def test_whole_graph_excludes_kgcomplete_data_and_keyless_nodes(small, settings):
    g = pull(small, settings.graph, progress=False)
    assert sorted(g.entities) == sorted("a b c d e f g p1 p2 p3 x y".split())
    assert ("a", "SUGGESTED", "c") not in edges(g) and "SUGGESTED" not in g.relations
    assert g.num_triples == 10
    assert g.labels == ["Chain", "Person", "Robot"]
    i = g.entity_index()
    assert g.entity_labels[i["p3"]].tolist() == [False, True, True]


def test_features_and_names(small, settings):
    g = pull(small, settings.graph, progress=False)
    i = g.entity_index()
    assert g.feature_names == ["active", "age", "score"]
    assert g.features[i["a"]].tolist() == [1.0, 30.0, 0.0]
    assert g.features[i["b"]].tolist() == [0.0, 41.5, 0.0]
    assert g.features[i["f"]].tolist() == [0.0, 0.0, 2.0]
    assert g.names[i["a"]] == "Alice" and g.names[i["b"]] == "b"
    only_age = pull(small, GraphSettings(features=["age"]), progress=False)
    assert only_age.feature_names == ["age"]


def test_filters_by_label_and_type(small, settings):
    g = pull(small, settings.graph, labels=["Chain"], progress=False)
    assert sorted(g.entities) == ["a", "b", "c"] and edges(g) == {("a", "R", "b"), ("b", "R", "c")}
    g = pull(small, settings.graph, types=["T"], progress=False)
    assert edges(g) == {("p1", "T", "a"), ("p2", "T", "a"), ("p3", "T", "a")}


@pytest.mark.parametrize("hops, fan_out, types, nodes, n_edges", [
    (0, None, None, {"a"}, 0),
    (1, None, None, {"a", "b", "f", "p1", "p2", "p3"}, 5),
    (2, None, None, {"a", "b", "c", "f", "g", "p1", "p2", "p3"}, 7),
    (1, 2, None, {"a", "b", "f"}, 2),
    (2, 1, None, {"a", "b"}, 1),  # b's first neighbour by key is a, already reached
    (2, 2, None, {"a", "b", "c", "f", "g"}, 4),
    (3, None, ["R"], {"a", "b", "c", "d"}, 3),
])
def test_k_hop_neighbourhood(small, settings, hops, fan_out, types, nodes, n_edges):
    g = pull(small, settings.graph, seeds=["a"], hops=hops, fan_out=fan_out, types=types, progress=False)
    assert set(g.entities) == nodes
    assert g.num_triples == n_edges
    assert all(h in nodes and t in nodes for h, _, t in edges(g))


def test_k_hop_from_two_seeds_and_missing_seed(small, settings):
    g = pull(small, settings.graph, seeds=["x", "g"], hops=1, progress=False)
    assert set(g.entities) == {"x", "y", "g", "f"}
    with pytest.raises(GraphError, match="'nope'"):
        pull(small, settings.graph, seeds=["a", "nope"], hops=1, progress=False)


def test_empty_database_is_a_clear_error(driver, settings):
    with pytest.raises(GraphError, match="nothing to pull.*empty"):
        pull(driver, settings.graph, progress=False)


def test_feature_matrix_dtype(small, settings):
    g = pull(small, settings.graph, progress=False)
    assert g.features.dtype == np.float32 and g.features.shape == (12, 3)


def test_relationship_types_keep_their_indices_when_the_graph_grows(small, settings):
    """Types come in name order whatever order the scan meets them in, so a model saved after
    one pull reads the next pull's relation indices the same way."""
    before = pull(small, settings.graph, database="neo4j", progress=False)
    small.execute_query("CREATE (:Entity {uid: 'aa'})-[:T]->(:Entity {uid: 'ab'}), "
                        "(:Entity {uid: 'ac'})-[:S]->(:Entity {uid: 'ad'})", database_="neo4j")
    after = pull(small, settings.graph, database="neo4j", progress=False)
    assert before.relations == after.relations == sorted(after.relations)
    assert edges(before) < edges(after) and ("aa", "T", "ab") in edges(after)
    small.execute_query("CREATE (:Entity {uid: 'ae'})-[:A_NEW]->(:Entity {uid: 'af'})", database_="neo4j")
    newest = pull(small, settings.graph, database="neo4j", progress=False)   # a type the scan meets last
    assert newest.relations == ["A_NEW", *after.relations] and ("ae", "A_NEW", "af") in edges(newest)
