"""The local server's generated password goes to that server only (issue #21, items 1-2):
a fake Bolt listener records whether credentials arrive; files holding secrets are private;
the password never shows on a command line."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from fake_bolt import FakeBolt

from kgcomplete.config import load_settings
from kgcomplete.db.connect import connect
from kgcomplete.errors import ConfigError, Neo4jConnectionError
from kgcomplete.server.local import STATE_FILE, LocalNeo4j, free_port

SECRET = "generated-local-secret-42"


def fake_home(tmp_path: Path, *, bolt_port: int, pid: int | None, password: str = SECRET) -> Path:
    """An instance folder as `kgcomplete neo4j start` leaves it: state file with a generated
    password, and a pid file (``None``: the instance was stopped)."""
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / STATE_FILE).write_text(json.dumps({"bolt_port": bolt_port, "http_port": 1, "password": password}))
    if pid is not None:
        (home / "run" / "neo4j.pid").write_text(str(pid))
    return home


def try_connect(uri: str, password: str | None = None) -> None:
    neo4j = {"uri": uri} if password is None else {"uri": uri, "password": password}
    try:
        connect(load_settings(None, env={}, neo4j=neo4j).neo4j).close()
    except (Neo4jConnectionError, ConfigError):
        pass


def own_server(neo4j_server) -> LocalNeo4j:
    server = neo4j_server[2]
    if server is None:
        pytest.fail("these tests need the session's own local server (unset KGC_TEST_NEO4J_URI)")
    return server


def test_the_fake_listener_records_credentials():
    with FakeBolt() as fake:
        try_connect(f"bolt://127.0.0.1:{fake.port}", password="given-on-purpose")
        assert fake.connections >= 1 and fake.got("given-on-purpose")


def test_no_password_to_a_listener_on_a_stopped_instances_port(tmp_path, monkeypatch):
    with FakeBolt() as fake:
        monkeypatch.setenv("KGC_NEO4J_DIR", str(fake_home(tmp_path, bolt_port=fake.port, pid=None)))
        try_connect(f"bolt://127.0.0.1:{fake.port}")
        assert fake.connections >= 1 and not fake.got(SECRET)


def test_no_password_when_another_process_listens_on_the_port(neo4j_server, tmp_path, monkeypatch):
    server = own_server(neo4j_server)
    with FakeBolt() as fake:   # the instance runs (a live Neo4j pid), but the port is not its socket
        monkeypatch.setenv("KGC_NEO4J_DIR", str(fake_home(tmp_path, bolt_port=fake.port, pid=server.status().pid)))
        for uri in (f"bolt://127.0.0.1:{fake.port}", f"neo4j://localhost:{fake.port}"):
            try_connect(uri)
        assert fake.connections >= 2 and not fake.got(SECRET)


@pytest.mark.parametrize("form", [
    "neo4j://127.0.0.1:{fake}?x=localhost:{real}",
    "neo4j://127.0.0.1:{fake}?x=127.0.0.1:{real}",
    "bolt://127.0.0.1:{fake}#127.0.0.1:{real}",
    "bolt://127.0.0.1:{fake}/localhost:{real}",
    "neo4j://127.0.0.1:{fake}?routing=localhost:{real}/",
])
def test_no_password_to_a_uri_that_only_mentions_the_instance(neo4j_server, tmp_path, monkeypatch, form):
    server = own_server(neo4j_server)
    with FakeBolt() as fake:
        home = fake_home(tmp_path, bolt_port=server.bolt_port, pid=server.status().pid)
        monkeypatch.setenv("KGC_NEO4J_DIR", str(home))
        try_connect(form.format(fake=fake.port, real=server.bolt_port))
        assert not fake.got(SECRET)


@pytest.mark.parametrize("uri", [
    "bolt://evil-localhost:{real}", "bolt://127.0.0.1.evil:{real}", "bolt://neo4j@127.0.0.1:{real}",
    "bolt://127.0.0.1:0{real}", "bolt://127.0.0.1:{real}/db", "neo4j://127.0.0.1:{real}?policy=x",
    "bolt://127.0.0.1:{real}#x", "bolt://127.0.0.2:{real}", "bolt+s://127.0.0.1:{real}", " bolt://127.0.0.1:{real}",
])
def test_serves_only_the_exact_address(neo4j_server, tmp_path, uri):
    server = own_server(neo4j_server)
    local = LocalNeo4j(fake_home(tmp_path, bolt_port=server.bolt_port, pid=server.status().pid))
    assert local.serves(f"bolt://127.0.0.1:{server.bolt_port}") and local.serves(f"neo4j://localhost:{server.bolt_port}/")
    assert not local.serves(uri.format(real=server.bolt_port))


def test_the_own_instance_gets_it_at_127_0_0_1(neo4j_server, tmp_path, monkeypatch):
    server = own_server(neo4j_server)
    home = fake_home(tmp_path, bolt_port=server.bolt_port, pid=server.status().pid, password=neo4j_server[1])
    monkeypatch.setenv("KGC_NEO4J_DIR", str(home))
    # "localhost" may resolve to another address (::1) where anyone can listen: the password
    # goes to 127.0.0.1 itself
    assert LocalNeo4j(home).own_uri(f"neo4j://localhost:{server.bolt_port}") == f"neo4j://127.0.0.1:{server.bolt_port}"
    driver = connect(load_settings(None, env={}, neo4j={"uri": f"bolt://localhost:{server.bolt_port}"}).neo4j)
    driver.close()


def test_secrets_on_disk_are_private(neo4j_server):
    home = own_server(neo4j_server).home
    mode = {p: stat.S_IMODE(os.stat(home / p).st_mode) for p in (STATE_FILE, "data", "data/dbms/auth.ini")}
    assert mode == {STATE_FILE: 0o600, "data": 0o700, "data/dbms/auth.ini": 0o600}


def test_password_never_on_a_command_line(tmp_path):
    """A fresh instance with an awkward password: no process's command line shows it while it
    is set, and the server then takes it."""
    import neo4j

    password = 'odd pa"ss w\\ord #1'
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "AdminTool" in text:
                    seen.append(text)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    server = LocalNeo4j(tmp_path / "inst", bolt_port=free_port(), http_port=free_port(), password=password,
                        heap="256m", pagecache="32m")
    try:
        server.start()
        done.set()
        watcher.join()
        assert seen, "the watcher never saw neo4j-admin run: the test proves nothing"
        assert not any("pa\"ss" in s or "odd pa" in s for s in seen)
        assert not list((tmp_path / "inst" / "run").glob("*.args"))
        with neo4j.GraphDatabase.driver(server.bolt_uri, auth=("neo4j", password)) as d:
            d.verify_connectivity()
    finally:
        done.set()
        server.stop()
