"""Fault injection on a real Neo4j, shared by tests/integration/test_faults.py and
benchmarks/faults.py: enrichment clients in subprocesses (manual `kgcomplete enrich` or a
scheduled `kgcomplete schedule --once`), killed at chosen points, and an audit of what the
database says afterwards (duplicates, committed = recorded, final statuses, the ledger)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import neo4j

JOB = "faults"
CONFIG = '''
[model]
name = "complex"
epochs = {epochs}
max_seconds = {max_seconds}
threads = 1
options = {{ dim = 16, patience = {patience} }}
[suggest]
top_k = 60
min_probability = 0.0
max_total = {max_total}
write_batch_size = {batch}
learn_from_reviews = false
[[jobs]]
name = "{job}"
cron = "0 0 1 1 *"
lock_ttl_seconds = {ttl}
'''


def write_config(folder: Path, *, epochs: int = 5, patience: int = 5, max_total: int = 2500, ttl: float = 5,
                 max_seconds: float = 600, batch: int = 100) -> Path:
    """A config for fault runs on nations: ``max_total`` suggestions (``batch`` a batch), lock
    TTL ``ttl`` seconds for the job and for manual runs. ``epochs=100_000, patience=100_000``
    keeps a run training until it is stopped (or ``max_seconds``)."""
    path = folder / "faults.toml"
    path.write_text(CONFIG.format(epochs=epochs, patience=patience, max_total=max_total, ttl=ttl, job=JOB,
                                  max_seconds=max_seconds, batch=batch))
    return path


class Client:
    """One enrichment client in a subprocess: ``manual`` (`kgcomplete enrich`) or ``scheduled``
    (`kgcomplete schedule --once --job faults`); its output lines are collected."""

    def __init__(self, kind: str, uri: str, password: str, config: Path, *, ttl: float = 5,
                 wait: bool = False) -> None:
        if kind == "manual":
            args = ["enrich", "--config", str(config), "--top", "0", "--lock-ttl", str(ttl)] + (["--wait"] if wait else [])
        elif kind == "scheduled":
            args = ["schedule", "--config", str(config), "--once", "--job", JOB]
        else:
            raise ValueError(kind)
        env = {**os.environ, "NEO4J_URI": uri, "NEO4J_PASSWORD": password, "OMP_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1"}
        self.kind = kind
        self.proc = subprocess.Popen([sys.executable, "-m", "kgcomplete.cli", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new:
                self.lines.append(line.rstrip("\n"))
                self._new.notify_all()
        with self._new:
            self._new.notify_all()

    def wait_for(self, text: str) -> bool:
        """Wait until an output line contains ``text`` (True) or the process ended without one."""
        with self._new:
            while True:
                if any(text in line for line in self.lines):
                    return True
                if not self._reader.is_alive():
                    return False
                self._new.wait(0.5)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 300) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)


WRITING = "writing back"   # the line (manual) or progress message (scheduled) as writeback begins


def query(driver: neo4j.Driver, text: str, **params: Any) -> list[dict[str, Any]]:
    return [r.data() for r in driver.execute_query(text, params, database_="neo4j").records]


def running_run(driver: neo4j.Driver) -> str | None:
    rows = query(driver, "MATCH (r:KGCRun {status: 'running'}) RETURN r.id AS id ORDER BY r.started_at DESC LIMIT 1")
    return rows[0]["id"] if rows else None


def committed(driver: neo4j.Driver, run_id: str) -> int:
    return query(driver, "MATCH ()-[s:SUGGESTED {created_run: $id}]->() RETURN count(s) AS n", id=run_id)[0]["n"]


def wait_until_committed(driver: neo4j.Driver, client: Client, at_least: int) -> str | None:
    """Poll until the client's run has committed ``at_least`` suggestions; its run id, or None
    if the client ended first."""
    while client.proc.poll() is None:
        run = running_run(driver)
        if run is not None and committed(driver, run) >= at_least:
            return run
        time.sleep(0.01)
    return None


def lock_state(driver: neo4j.Driver, name: str) -> dict[str, Any]:
    rows = query(driver, "MATCH (l:KGCLock {name: $name}) RETURN l.owner AS owner, l.expires_at AS expires_at, "
                         "l.expires_at < datetime() AS expired", name=name)
    return rows[0] if rows else {}


def audit(driver: neo4j.Driver) -> dict[str, Any]:
    """What the database says: duplicated suggestions, and per run its status, error,
    recorded counter and the suggestions it committed (``created_run``), and ledger left."""
    duplicates = query(driver, "MATCH ()-[s:SUGGESTED]->() WITH s.head_key AS h, s.type AS t, s.tail_key AS b, "
                               "count(*) AS n WHERE n > 1 RETURN count(*) AS groups, coalesce(sum(n - 1), 0) AS extra")[0]
    runs = query(driver, "MATCH (r:KGCRun) OPTIONAL MATCH ()-[s:SUGGESTED {created_run: r.id}]->() "
                         "WITH r, count(s) AS committed "
                         "RETURN r.id AS id, r.status AS status, r.error AS error, r.written AS written, committed, "
                         "COUNT { (b:KGCWriteBatch {run_id: r.id}) } AS ledger ORDER BY r.started_at")
    total = query(driver, "MATCH ()-[s:SUGGESTED]->() RETURN count(s) AS n")[0]["n"]
    ended = [r for r in runs if r["status"] != "running"]
    return {
        "duplicates": duplicates["extra"],
        "runs": runs,
        "suggestions": total,
        # committed but not recorded (lost from the counters) / recorded but not committed
        "lost": sum(max(0, r["committed"] - r["written"]) for r in ended),
        "phantom": sum(max(0, r["written"] - r["committed"]) for r in ended),
        "wrong_counters": sum(1 for r in ended if r["written"] != r["committed"] or r["ledger"]),
    }


def reset_suggestions(driver: neo4j.Driver) -> None:
    """Remove every suggestion, run and ledger entry (the graph and the locks stay)."""
    with driver.session(database="neo4j") as s:
        s.run("MATCH ()-[r:SUGGESTED]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 5000 ROWS").consume()
        s.run("MATCH (n) WHERE n:KGCRun OR n:KGCWriteBatch DETACH DELETE n").consume()


def kill9_server(server: Any) -> None:
    """kill -9 the local Neo4j (a LocalNeo4j) and wait until its process and Bolt port are gone."""
    import socket

    os.kill(server.status().pid, signal.SIGKILL)
    while server.status().running:
        time.sleep(0.05)
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", server.bolt_port))
                return
            except OSError:
                time.sleep(0.1)
