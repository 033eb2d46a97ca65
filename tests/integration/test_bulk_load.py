"""`load --bulk`: Neo4j's importer into a local server's empty database, same data model as
the transactional loader, names stored verbatim, refused on a database that holds data."""

from __future__ import annotations

import shutil

import pytest
from conftest import free_port

from kgcomplete import Client, datasets
from kgcomplete.config import load_settings
from kgcomplete.db.connect import connect
from kgcomplete.db.load import LoadInput, load_triples, read_input
from kgcomplete.errors import ConfigError, GraphError, LocalNeo4jError
from kgcomplete.server.bulk_load import bulk_load
from kgcomplete.server.local import LocalNeo4j

ODD = [("a,1", 'quoted "type", with comma', "b;2"), ("b;2", "ÜBER-Straße", "c 3"), ("c 3", "plain", "a,1")]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of its own: the bulk importer stops and starts it."""
    server = LocalNeo4j(tmp_path_factory.mktemp("bulk"), bolt_port=free_port(), http_port=free_port(),
                        password="kgc-bulk-password", heap="512m", pagecache="128m")
    server.start()
    try:
        yield server, load_settings(None, env={}, neo4j={"uri": server.bolt_uri, "password": "kgc-bulk-password"})
    finally:
        server.stop()


def test_bulk_load_writes_what_the_loader_writes_and_refuses_a_second_time(own_server, tmp_path):
    server, settings = own_server
    folder = tmp_path / "codex-s"
    shutil.copytree(datasets.path("codex-s"), folder)
    with open(folder / "train.tsv", "a", encoding="utf-8") as f:
        f.writelines("\t".join(t) + "\n" for t in ODD)
    data = read_input(folder)
    with Client(settings=settings) as kgc:
        report = kgc.load(folder, bulk=True, local_dir=server.home, progress=False)
        assert kgc.pull(progress=False).num_triples == len(data.triples)   # the client's driver works on
    assert report.relationships_created == len(data.triples) and report.nodes_created == 2034 + 3
    assert set(report.phase_seconds) >= {"csv", "stop", "import", "start", "constraint", "labels"}
    with connect(settings.neo4j) as driver:
        count = driver.execute_query("MATCH (:Entity)-[r]->(:Entity) RETURN count(r) AS n").records[0]["n"]
        assert count == len(data.triples)
        odd = {tuple(r) for r in driver.execute_query(
            "MATCH (a:Entity)-[r]->(b:Entity) WHERE a.uid IN $keys RETURN a.uid, type(r), b.uid",
            keys=["a,1", "b;2", "c 3"]).records}
        assert odd == set(ODD)                              # keys and types stored verbatim
        labelled = driver.execute_query("MATCH (n:Entity) WHERE size(labels(n)) > 1 RETURN count(n) AS n").records[0]["n"]
        assert labelled == sum(1 for labs in data.entity_labels.values() if labs)
        named = driver.execute_query("MATCH ()-[r]->() WHERE r.name IS NOT NULL RETURN count(r) AS n").records[0]["n"]
        assert named == sum(1 for _, r, _ in data.triples if r in data.relation_names)
        constraints = [r["name"] for r in driver.execute_query("SHOW CONSTRAINTS YIELD name").records]
        assert any(name.startswith("kgc_key_") for name in constraints)
        # the transactional loader finds everything in place: the same data model
        again = load_triples(driver, data, settings.graph, progress=False)
        assert (again.nodes_created, again.relationships_created, again.labels_added) == (0, 0, 0)
    with pytest.raises(GraphError, match="needs an empty database"):
        bulk_load(server, settings.neo4j, data, settings.graph)
    with pytest.raises(ConfigError, match="default database"):
        bulk_load(server, settings.neo4j, data, settings.graph, database="other")


def test_a_failed_import_leaves_the_database_empty_and_the_server_up(tmp_path):
    server = LocalNeo4j(tmp_path / "neo4j", bolt_port=free_port(), http_port=free_port(),
                        password="kgc-bulk-password", heap="512m", pagecache="128m")
    server.start()
    try:
        settings = load_settings(None, env={}, neo4j={"uri": server.bolt_uri, "password": "kgc-bulk-password"})
        broken = LoadInput([("a", "R", "b\nc")], {}, {})   # a line break in a key: the importer refuses the file
        with pytest.raises(LocalNeo4jError, match="bulk importer failed"):
            bulk_load(server, settings.neo4j, broken, settings.graph)
        assert server.status().running
        with connect(settings.neo4j) as driver:
            assert driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0
        report = bulk_load(server, settings.neo4j, LoadInput([("a", "R", "b")], {}, {}), settings.graph)
        assert report.relationships_created == 1
    finally:
        server.stop()
