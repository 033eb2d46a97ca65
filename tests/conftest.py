"""Shared fixtures: one real Neo4j per test session, reached over Bolt.

By default the session starts its own server (kgcomplete.server.local) in a temporary
folder on free loopback ports. ``KGC_TEST_NEO4J_URI`` (+ ``KGC_TEST_NEO4J_PASSWORD``)
points the tests at another server instead; they wipe its default database, so never
point them at data you care about. A server that cannot start fails the session: no test
here is ever skipped for want of Neo4j.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kgcomplete.config import Settings, load_settings
from kgcomplete.datasets import DATA_DIR
from kgcomplete.db.connect import connect
from kgcomplete.server.local import LocalNeo4j, free_port


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory):
    """(bolt uri, password, LocalNeo4j or None) of the session's server."""
    uri = os.environ.get("KGC_TEST_NEO4J_URI")
    if uri:
        yield uri, os.environ.get("KGC_TEST_NEO4J_PASSWORD", ""), None
        return
    home = tmp_path_factory.mktemp("neo4j")
    server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), password="kgc-test-password",
                        heap="1g", pagecache="256m")
    server.start()
    try:
        yield server.bolt_uri, "kgc-test-password", server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def settings(neo4j_server) -> Settings:
    uri, password, _ = neo4j_server
    return load_settings(None, env={}, neo4j={"uri": uri, "password": password})


@pytest.fixture(scope="session")
def session_driver(settings):
    driver = connect(settings.neo4j)
    yield driver
    driver.close()


@pytest.fixture
def driver(session_driver, settings):
    """The session's driver, on a database emptied before the test."""
    clear_database(session_driver, settings.neo4j.database)
    return session_driver


def clear_database(driver, database: str = "neo4j") -> None:
    with driver.session(database=database) as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def count(driver, query: str, **params) -> int:
    records, _, _ = driver.execute_query(query, params, database_="neo4j")
    return records[0][0]


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The folder of the datasets bundled with the package."""
    return DATA_DIR
