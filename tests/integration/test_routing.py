"""Through a ``neo4j://`` routing URI (on a cluster: reads on followers, writes on the
leader). Here only a single server answers the routing table; the tests check that the
driver routes through it and that pulls ask for read transactions, the only thing a cluster
needs from kgcomplete to send them to followers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import neo4j
import pytest

from kgcomplete.config import load_settings
from kgcomplete.db.connect import connect
from kgcomplete.db.pull import pull
from kgcomplete.db.schema import ensure_key_constraint

TRIPLES = [("a", "R", "b"), ("b", "R", "c"), ("c", "S", "a")]
GRAPH = "CREATE (a:Entity {uid: 'a'})-[:R]->(b:Entity {uid: 'b'})-[:R]->(c:Entity {uid: 'c'})-[:S]->(a)"


class Recorder:
    """A driver that records the access mode of every session, transaction and query."""

    def __init__(self, driver: neo4j.Driver) -> None:
        self.driver, self.calls = driver, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)

    def execute_query(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(("execute_query", kwargs.get("routing_", neo4j.RoutingControl.WRITE)))
        return self.driver.execute_query(*args, **kwargs)

    def session(self, **kwargs: Any) -> Any:
        self.calls.append(("session", kwargs.get("default_access_mode", neo4j.WRITE_ACCESS)))
        return RecordedSession(self.driver.session(**kwargs), self.calls)


class RecordedSession:
    def __init__(self, session: neo4j.Session, calls: list) -> None:
        self.session, self.calls = session, calls

    def __enter__(self) -> RecordedSession:
        self.session.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.session.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        if name in ("execute_read", "execute_write", "run", "begin_transaction"):
            self.calls.append((name, None))
        return getattr(self.session, name)


@pytest.fixture
def routed(driver, settings):
    """Settings and a verified driver for the test server through ``neo4j://``."""
    parts = urlsplit(settings.neo4j.uri)
    routed_settings = load_settings(None, env={}, neo4j={
        "uri": f"neo4j://{parts.hostname}:{parts.port}",
        "password": settings.neo4j.password.get_secret_value() if settings.neo4j.password else None})
    ensure_key_constraint(driver, settings.graph, "neo4j")
    driver.execute_query(GRAPH, database_="neo4j")
    routed_driver = connect(routed_settings.neo4j)
    yield routed_settings, routed_driver
    routed_driver.close()


def test_a_pull_through_a_routing_uri_reads_the_graph(routed, driver, settings):
    routed_settings, routed_driver = routed
    g = pull(routed_driver, routed_settings.graph, database="neo4j", progress=False)
    assert sorted(g.labeled_triples()) == sorted(TRIPLES)
    direct = pull(driver, settings.graph, database="neo4j", progress=False)
    assert sorted(g.labeled_triples()) == sorted(direct.labeled_triples())


@pytest.mark.parametrize("seeds", [None, ["a"]], ids=["whole", "k-hop"])
def test_a_pull_runs_only_read_transactions(routed, seeds):
    routed_settings, routed_driver = routed
    spy = Recorder(routed_driver)
    pull(spy, routed_settings.graph, database="neo4j", seeds=seeds, progress=False)  # type: ignore[arg-type]
    assert spy.calls and set(spy.calls) <= {("session", neo4j.READ_ACCESS), ("execute_read", None)}, spy.calls


def test_connecting_verifies_with_a_read(settings, monkeypatch):
    real, made = neo4j.GraphDatabase.driver, []

    def recorded(*args: Any, **kwargs: Any) -> Recorder:
        made.append(Recorder(real(*args, **kwargs)))
        return made[-1]

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", recorded)
    connect(settings.neo4j).close()
    assert made[0].calls == [("execute_query", neo4j.RoutingControl.READ)]
