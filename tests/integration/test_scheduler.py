"""Scheduled jobs: cron settings, the Neo4j job lock, and real worker processes on a real Neo4j."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import count

from kgcomplete.config import load_settings
from kgcomplete.db.load import load_path
from kgcomplete.db.locks import acquire, release, renew
from kgcomplete.errors import ConfigError
from kgcomplete.jobs.scheduler import trigger

JOB = '''
[model]
name = "complex"
epochs = {epochs}
max_seconds = {max_seconds}
options = {{ dim = 16, patience = {patience} }}
[suggest]
top_k = 2
min_probability = 0.0
max_total = 40
[[jobs]]
name = "nightly"
cron = "{cron}"
lock_ttl_seconds = {ttl}
'''


def write_config(tmp_path, *, cron: str = "0 2 * * *", ttl: float = 600, epochs: int = 20,
                 max_seconds: float = 600, patience: int = 5):
    """A one-job config; ``epochs=100_000, patience=100_000`` keeps a worker training (holding
    the lock) until it is stopped or ``max_seconds`` pass."""
    path = tmp_path / "kgcomplete.toml"
    path.write_text(JOB.format(cron=cron, ttl=ttl, epochs=epochs, max_seconds=max_seconds, patience=patience))
    return path


# ---------------------------------------------------------------------- cron settings
def test_cron_trigger_follows_the_expression_and_time_zone(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[[jobs]]\nname = "weekdays"\ncron = "30 2 * * mon-fri"\ntimezone = "Europe/Berlin"\n')
    job = load_settings(path, env={}).job("weekdays")
    berlin = ZoneInfo("Europe/Berlin")
    t = trigger(job)
    first = t.get_next_fire_time(None, datetime(2026, 11, 27, 12, 0, tzinfo=berlin))  # a Friday noon
    assert first == datetime(2026, 11, 30, 2, 30, tzinfo=berlin)                    # -> Monday 02:30
    assert t.get_next_fire_time(first, first.replace(minute=31)) == datetime(2026, 12, 1, 2, 30, tzinfo=berlin)


@pytest.mark.parametrize("body, culprit", [
    ('name = "a"\ncron = "61 2 * * *"', "'jobs.0.cron'"),
    ('name = "a"\ncron = "0 2 * *"', "'jobs.0.cron'"),
    ('name = "a"\ncron = "@daily"', "'jobs.0.cron'"),
    ('name = "a"\ncron = "0 2 * * *"\ntimezone = "Mars/Olympus"', "'jobs.0.timezone'"),
    ('name = "a"', "'jobs.0.cron'"),
    ('name = "a"\ncron = "0 2 * * *"\nlock_ttl_seconds = 1', "'jobs.0.lock_ttl_seconds'"),
    ('name = "a"\ncron = "0 2 * * *"\nevery = 3', "'jobs.0.every'"),
])
def test_bad_schedules_name_the_key(tmp_path, body, culprit):
    path = tmp_path / "k.toml"
    path.write_text(f"[[jobs]]\n{body}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(path, env={})
    assert culprit in str(e.value) and str(path) in str(e.value)


def test_job_names_are_unique_and_looked_up_by_name(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[[jobs]]\nname = "a"\ncron = "0 2 * * *"\n[[jobs]]\nname = "a"\ncron = "0 3 * * *"\n')
    with pytest.raises(ConfigError, match="repeated: a"):
        load_settings(path, env={})
    path.write_text('[[jobs]]\nname = "a"\ncron = "0 2 * * *"\n')
    with pytest.raises(ConfigError, match="no job named 'b'.*jobs: a"):
        load_settings(path, env={}).job("b")
    path.write_text('jobs = "nightly"\n')
    with pytest.raises(ConfigError, match=r"expected \[\[jobs\]\] tables"):
        load_settings(path, env={})


# ---------------------------------------------------------------------- the lock
def test_lock_is_exclusive_renewable_and_expires(driver):
    ok, _ = acquire(driver, "j", "worker-a", ttl=30)
    assert ok
    ok, holder = acquire(driver, "j", "worker-b", ttl=30)
    assert not ok and holder["owner"] == "worker-a"
    assert acquire(driver, "j", "worker-a", ttl=30)[0]            # re-entrant for its owner
    assert renew(driver, "j", "worker-a", ttl=1) and not renew(driver, "j", "worker-b", ttl=30)
    time.sleep(1.3)
    assert acquire(driver, "j", "worker-b", ttl=30)[0]            # expired: b takes it over
    assert not release(driver, "j", "worker-a") and release(driver, "j", "worker-b")
    assert acquire(driver, "j", "worker-c", ttl=30)[0]
    assert count(driver, "MATCH (l:KGCLock) RETURN count(l)") == 1


def test_concurrent_acquires_have_one_winner(driver):
    from kgcomplete.db.schema import ensure_schema

    ensure_schema(driver)  # the uniqueness constraint on KGCLock.name
    barrier = threading.Barrier(6)
    wins: list[str] = []

    def worker(i: int) -> None:
        barrier.wait()
        if acquire(driver, "race", f"w{i}", ttl=60)[0]:
            wins.append(f"w{i}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert count(driver, "MATCH (l:KGCLock {name: 'race'}) RETURN count(l)") == 1


# ---------------------------------------------------------------------- worker processes
class Worker:
    """`kgcomplete schedule` in a subprocess, its JSON log lines collected as they come."""

    def __init__(self, settings, config, *args: str) -> None:
        env = {**os.environ, "NEO4J_URI": settings.neo4j.uri,
               "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value()}
        self.proc = subprocess.Popen([sys.executable, "-m", "kgcomplete.cli", "schedule", "--config", str(config),
                                      *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                self.events.append({"event": "text", "line": line.rstrip()})

    def wait_for(self, name: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events:
                if e.get("event") == name:
                    return e
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {name!r} event; got {self.events}")

    def finish(self, timeout: float = 300) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def names(self) -> list[str]:
        return [e.get("event") for e in self.events]


@pytest.fixture
def nations_db(driver, settings, datasets_dir):
    load_path(driver, datasets_dir / "nations", settings.graph, progress=False)
    return driver


def test_two_workers_on_one_job_one_runs_one_skips(nations_db, settings, tmp_path):
    config = write_config(tmp_path, epochs=100_000, patience=100_000, max_seconds=240)
    a = Worker(settings, config, "--once")
    started = a.wait_for("run_started")             # a holds the lock and trains until stopped
    b = Worker(settings, config, "--once")
    assert b.finish() == 0
    assert a.proc.poll() is None, "worker a finished before b tried: the test proves nothing"
    skipped = b.wait_for("job_skipped")
    assert skipped["job"] == "nightly" and skipped["holder"] == a.wait_for("job_started")["worker"]
    assert "job_started" not in b.names()
    a.proc.send_signal(signal.SIGTERM)               # training stops at the next epoch
    assert a.finish(60) == 0
    assert a.wait_for("job_stopped")["reason"].startswith("stopped before suggesting")
    assert count(nations_db, "MATCH (r:KGCRun {job: 'nightly'}) RETURN count(r)") == 1
    assert count(nations_db, "MATCH (r:KGCRun {id: $id}) WHERE r.status = 'failed' RETURN count(r)",
                 id=started["run_id"]) == 1
    assert count(nations_db, "MATCH (l:KGCLock {name: 'nightly'}) WHERE l.owner IS NULL RETURN count(l)") == 1
    quick = tmp_path / "quick"
    quick.mkdir()
    c = Worker(settings, write_config(quick), "--once")  # the lock is free again: the next run completes
    assert c.finish() == 0 and c.wait_for("job_finished")["written"] > 0


def test_killed_worker_lock_expires_and_the_next_run_completes(nations_db, settings, tmp_path):
    config = write_config(tmp_path, ttl=15, epochs=400)
    a = Worker(settings, config, "--once")
    killed_run = a.wait_for("run_started")["run_id"]
    a.proc.kill()                                   # SIGKILL: no chance to release anything
    a.finish()
    held, holder = acquire(nations_db, "nightly", "someone-else", 15)
    assert not held and holder["owner"] == a.wait_for("job_started")["worker"]   # the dead worker's lock holds
    deadline = time.monotonic() + 120               # ... until it expires, by the database's clock
    while not count(nations_db, "MATCH (l:KGCLock {name: 'nightly'}) RETURN l.expires_at < datetime()"):
        assert time.monotonic() < deadline, "the dead worker's lock never expired"
        time.sleep(0.5)
    c = Worker(settings, config, "--once")
    assert c.finish() == 0, c.events
    done = c.wait_for("job_finished")
    status = {r["id"]: (r["status"], r["error"]) for r, in nations_db.execute_query(
        "MATCH (r:KGCRun) RETURN r {.id, .status, .error}").records}
    assert status[killed_run] == ("failed", "interrupted")
    assert status[done["run_id"]] == ("completed", None)


def test_sigterm_stops_a_running_job_at_a_safe_point(nations_db, settings, tmp_path):
    config = write_config(tmp_path, epochs=100_000, patience=100_000, max_seconds=240)
    a = Worker(settings, config, "--once")
    a.wait_for("job_started")
    a.proc.send_signal(signal.SIGTERM)
    assert a.finish(60) == 0                         # training is cut at the next epoch, not run out
    stopped = a.wait_for("job_stopped")
    # before or during training: always before anything is written
    assert stopped["reason"].startswith("stopped before") and "nothing of this run was written" in stopped["reason"]
    assert count(nations_db, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)") == 0
    assert count(nations_db, "MATCH (r:KGCRun {status: 'failed'}) WHERE r.error STARTS WITH 'stopped' "
                             "RETURN count(r)") == 1


def test_scheduler_waits_for_cron_and_stops_on_sigterm(settings, tmp_path):
    config = write_config(tmp_path, cron="0 0 1 1 *")
    w = Worker(settings, config)
    scheduled = w.wait_for("job_scheduled")
    assert scheduled["job"] == "nightly" and scheduled["next_run"].startswith("20")
    assert scheduled["next_run"][5:10] == "01-01"
    w.proc.send_signal(signal.SIGTERM)
    assert w.finish(60) == 0
    assert w.names()[-1] == "scheduler_stopped" and "job_started" not in w.names()


def test_runs_lists_history(nations_db, settings, tmp_path):
    from typer.testing import CliRunner

    from kgcomplete.cli import app
    from kgcomplete.jobs.scheduler import run_job

    config = write_config(tmp_path)
    s = load_settings(config, env={}, neo4j={"uri": settings.neo4j.uri,
                                             "password": settings.neo4j.password.get_secret_value()})
    assert run_job(s, s.job("nightly")) == "completed"
    env = {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value()}
    res = CliRunner().invoke(app, ["runs", "--json"], env=env)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["job"] == "nightly" and rows[0]["status"] == "completed"
    assert rows[0]["written"] > 0 and "valid_mrr" in rows[0]["metrics"]   # metrics are JSON, not a string inside it
    res = CliRunner().invoke(app, ["runs", "--job", "other", "--json"], env=env)
    assert res.exit_code == 0 and res.stdout == ""
