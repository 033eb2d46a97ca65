"""The local Neo4j server: lifecycle and the clear errors for a broken set-up."""

from __future__ import annotations

import os
import socket

import neo4j
import pytest
from conftest import free_port

from kgcomplete.errors import LocalNeo4jError
from kgcomplete.server.local import LocalNeo4j, cache_dir


def test_a_lock_nobody_releases_ends_in_a_transient_error(neo4j_server, driver):
    if neo4j_server[2] is None:
        pytest.fail("this test needs the session's own local server (unset KGC_TEST_NEO4J_URI)")
    driver.execute_query("CREATE (:Probe {id: 1}), (:Probe {id: 2})")
    with driver.session() as holder:
        held = holder.begin_transaction()
        held.run("MATCH (p:Probe {id: 1}) SET p.held = true").consume()
        with driver.session() as other, pytest.raises(neo4j.exceptions.TransientError) as waited:
            # the relationship's lock on p is taken at commit: the wait the writeback once hung in
            other.run("MATCH (a:Probe {id: 1}), (b:Probe {id: 2}) CREATE (a)-[:PROBE]->(b)").consume()
        assert waited.value.code == "Neo.TransientError.Transaction.LockAcquisitionTimeout"
        held.rollback()


def test_session_server_reports_running(neo4j_server):
    _, _, server = neo4j_server
    if server is None:
        pytest.fail("these tests need the session's own local server (unset KGC_TEST_NEO4J_URI)")
    status = server.status()
    assert status.running and status.pid
    assert status.bolt_uri == server.bolt_uri and "/browser/" in status.browser_url
    # starting again is a no-op on the same process
    assert server.start().pid == status.pid


def test_browser_is_served(neo4j_server):
    import urllib.request

    _, _, server = neo4j_server
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/browser/", timeout=10) as resp:
        assert resp.status == 200 and b"Neo4j" in resp.read()


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        server = LocalNeo4j(tmp_path, bolt_port=busy, http_port=free_port(), password="secret-pass")
        with pytest.raises(LocalNeo4jError, match=f"port {busy} \\(Bolt\\).*in use"):
            server.start()


def test_store_locked_by_another_server(neo4j_server):
    _, _, server = neo4j_server
    # Same instance folder, other ports, and no pid file to say it is ours: the second JVM
    # must find the store locked and we must say so.
    pid_text = server.pid_file.read_text()
    server.pid_file.unlink()
    try:
        intruder = LocalNeo4j(server.home, bolt_port=free_port(), http_port=free_port(), password="whatever1")
        with pytest.raises(LocalNeo4jError, match="locked by another Neo4j"):
            intruder.start(timeout=120)
    finally:
        server.pid_file.write_text(pid_text)
        (server.home / "conf" / "neo4j.conf").write_text(server._config())
    assert server.status().running


def test_no_java(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(LocalNeo4jError, match="Java 17 or 21 is needed"):
        LocalNeo4j(tmp_path).start()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalNeo4jError, match="Java 17 or 21 is needed"):
        LocalNeo4j.java()


def test_no_maven(tmp_path, monkeypatch):
    monkeypatch.delenv("NEO4J_HOME", raising=False)
    monkeypatch.setenv("KGC_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalNeo4jError, match="Maven \\(mvn\\) is needed"):
        LocalNeo4j(tmp_path / "inst").lib_dir()


def test_neo4j_home_is_used_when_set(neo4j_server, tmp_path, monkeypatch):  # the jars are cached by then
    jars = cache_dir() / "neo4j"
    cached = next(jars.glob("*/lib"))
    home = tmp_path / "neo4j-install"
    (home / "lib").mkdir(parents=True)
    for jar in list(cached.glob("neo4j-kernel-*.jar"))[:1]:
        os.symlink(jar, home / "lib" / jar.name)
    monkeypatch.setenv("NEO4J_HOME", str(home))
    assert LocalNeo4j(tmp_path / "inst").lib_dir() == home / "lib"
    monkeypatch.setenv("NEO4J_HOME", str(tmp_path / "not-neo4j"))
    with pytest.raises(LocalNeo4jError, match="is not a Neo4j install"):
        LocalNeo4j(tmp_path / "inst").lib_dir()


def test_stop_when_not_running(tmp_path):
    assert LocalNeo4j(tmp_path).stop() is False
    assert not LocalNeo4j(tmp_path).status().running
