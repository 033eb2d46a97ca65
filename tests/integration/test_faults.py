"""Faults on the real test server (issue #21, items 6-9 and the fault suite): kill -9 of the
client (manual and scheduled) and of Neo4j during writeback, SIGTERM mid-training, two manual
runs at once, review races. Each asserts no duplicate, committed = recorded, no lock held past
its expiry, and every run's final status true."""

from __future__ import annotations

import signal
import threading
import time

import neo4j
import pytest
from conftest import count
from fault_injection import (
    JOB,
    Client,
    audit,
    kill9_server,
    lock_state,
    query,
    running_run,
    wait_until_committed,
    write_config,
)
from typer.testing import CliRunner

from kgcomplete.config import load_settings
from kgcomplete.db.load import LoadInput, load_path, load_triples
from kgcomplete.db.review import accept, reject
from kgcomplete.db.runs import finish_run, start_run
from kgcomplete.db.write import suggestion_id, write_suggestions
from kgcomplete.errors import LockHeld, ReviewError, Stopped
from kgcomplete.jobs.enrich import MANUAL_LOCK, enrich
from kgcomplete.records import Suggestion

TTL = 5.0


@pytest.fixture
def nations_db(driver, settings, datasets_dir):
    load_path(driver, datasets_dir / "nations", settings.graph, progress=False)
    return driver


def fault_settings(settings, tmp_path, **kw):
    return load_settings(write_config(tmp_path, **kw), env={},
                         neo4j={"uri": settings.neo4j.uri, "password": settings.neo4j.password.get_secret_value()})


def secret(settings) -> str:
    return settings.neo4j.password.get_secret_value()


def assert_truthful(driver, killed: str) -> dict:
    """No duplicates, every ended run's counters equal what it committed, no ledger left, the
    killed run failed, no run still running."""
    report = audit(driver)
    assert report["duplicates"] == 0
    assert report["lost"] == report["phantom"] == report["wrong_counters"] == 0, report["runs"]
    status = {r["id"]: (r["status"], r["error"]) for r in report["runs"]}
    assert status[killed][0] == "failed", status
    assert not [r for r in report["runs"] if r["status"] == "running"]
    return report


def recover(driver, s, lock: str, job: str | None):
    """The next run: waits for the dead run's lock to expire, then completes."""
    waited: list[str] = []
    result = enrich(driver, s, job=job, progress=False, wait=True, lock_ttl=TTL, echo=waited.append)
    assert lock_state(driver, lock)["owner"] is None    # released
    return result, waited


@pytest.mark.parametrize("kind", ["manual", "scheduled"])
def test_kill9_of_the_client_during_writeback(nations_db, settings, tmp_path, kind):
    s = fault_settings(settings, tmp_path)
    client = Client(kind, settings.neo4j.uri, secret(settings), tmp_path / "faults.toml", ttl=TTL)
    run = wait_until_committed(nations_db, client, 1)   # a batch committed, the next one in flight or not sent
    assert run is not None, client.output()
    client.kill9()
    lock = JOB if kind == "scheduled" else MANUAL_LOCK
    assert lock_state(nations_db, lock)["owner"] is not None      # the dead client's lock holds ...
    result, waited = recover(nations_db, s, lock, JOB if kind == "scheduled" else None)
    assert waited and "waiting for lock" in waited[0]              # ... until it expires; then the next run runs
    report = assert_truthful(nations_db, run)
    status = {r["id"]: (r["status"], r["error"]) for r in report["runs"]}
    assert status[run] == ("failed", "interrupted") and status[result.run_id] == ("completed", None)
    assert report["suggestions"] == sum(r["written"] for r in report["runs"]) > 0


def test_kill9_of_neo4j_during_writeback(nations_db, settings, tmp_path, neo4j_server):
    server = neo4j_server[2]
    if server is None:
        pytest.fail("this test needs the session's own local server (unset KGC_TEST_NEO4J_URI)")
    s = fault_settings(settings, tmp_path)
    client = Client("manual", settings.neo4j.uri, secret(settings), tmp_path / "faults.toml", ttl=TTL)
    run = wait_until_committed(nations_db, client, 1)
    assert run is not None, client.output()
    kill9_server(server)
    server.start()
    code = client.finish()
    if code != 0:   # the client failed with one line (or finished, if the server came back within its retries)
        last = client.lines[-1]
        assert last.startswith("error: ") and "Traceback" not in client.output()
    result, _ = recover(nations_db, s, MANUAL_LOCK, None)
    report = assert_truthful(nations_db, run) if code != 0 else audit(nations_db)
    assert report["duplicates"] == 0 and report["wrong_counters"] == 0
    assert {r["id"]: r["status"] for r in report["runs"]}[result.run_id] == "completed"


def test_sigterm_mid_training_marks_the_run_failed_and_frees_the_lock(nations_db, settings, tmp_path):
    write_config(tmp_path, epochs=100_000, patience=100_000, max_seconds=240)
    client = Client("manual", settings.neo4j.uri, secret(settings), tmp_path / "faults.toml", ttl=600)
    while running_run(nations_db) is None:          # training starts right after the run is recorded
        assert client.proc.poll() is None, client.output()
        time.sleep(0.05)
    run = running_run(nations_db)
    client.proc.send_signal(signal.SIGTERM)
    assert client.finish(120) == 1
    assert client.lines[-1].startswith("error: stopped before"), client.output()
    assert "Traceback" not in client.output()
    [row] = query(nations_db, "MATCH (r:KGCRun {id: $id}) RETURN r.status AS status, r.error AS error", id=run)
    assert row["status"] == "failed" and row["error"].startswith("stopped before")
    assert lock_state(nations_db, MANUAL_LOCK)["owner"] is None     # released, not left for 600 s
    assert count(nations_db, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)") == 0


def test_two_manual_runs_at_once(nations_db, settings, tmp_path):
    long = fault_settings(settings, tmp_path, epochs=100_000, patience=100_000, max_seconds=240)
    (tmp_path / "quick").mkdir()
    quick = fault_settings(settings, tmp_path / "quick", max_total=300)
    stop_a = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            enrich(nations_db, long, progress=False, should_stop=stop_a.is_set)
        except Stopped as e:
            outcome["a"] = e

    a = threading.Thread(target=first)
    a.start()
    while running_run(nations_db) is None:
        time.sleep(0.05)
    run_a = running_run(nations_db)
    with pytest.raises(LockHeld, match="another run holds lock 'enrich' .* this run did not start"):
        enrich(nations_db, quick, progress=False)          # the second one skips, saying so ...
    assert count(nations_db, "MATCH (r:KGCRun) RETURN count(r)") == 1
    waited: list[str] = []
    b: dict[str, object] = {}
    waiter = threading.Thread(target=lambda: b.update(r=enrich(nations_db, quick, progress=False, wait=True,
                                                               echo=waited.append)))
    waiter.start()                                          # ... or waits for it
    while not waited:
        time.sleep(0.05)
    assert "waiting for lock 'enrich'" in waited[0]
    stop_a.set()
    a.join()
    waiter.join()
    assert isinstance(outcome.get("a"), Stopped)
    report = audit(nations_db)
    status = {r["id"]: r["status"] for r in report["runs"]}
    assert status[run_a] == "failed" and status[b["r"].run_id] == "completed"      # type: ignore[attr-defined]
    assert report["duplicates"] == 0 and report["wrong_counters"] == 0
    assert report["suggestions"] == b["r"].report.written > 0                     # type: ignore[attr-defined]


def test_the_run_heartbeats_during_a_long_step(nations_db, settings, tmp_path):
    """Heartbeats come from the lock's thread while the run trains (before: only at start and
    per write batch, so a run training past 600 s was taken for interrupted)."""
    s = fault_settings(settings, tmp_path, epochs=100_000, patience=100_000, max_seconds=240)
    beats: set[str] = set()

    def beating() -> bool:   # asked every epoch: stop once the heartbeat moved twice during training
        rows = query(nations_db, "MATCH (r:KGCRun {status: 'running'}) RETURN toString(r.heartbeat_at) AS t")
        beats.update(r["t"] for r in rows)
        return len(beats) >= 3

    with pytest.raises(Stopped, match="stopped before suggesting"):
        enrich(nations_db, s, progress=False, should_stop=beating, lock_ttl=6)   # renews and beats every 2 s
    assert len(beats) >= 3


def test_a_run_taken_for_interrupted_that_completes_says_completed(driver):
    a = start_run(driver, model="m", lock="a")
    start_run(driver, model="m", lock="b", stale_after=0)         # takes a for interrupted
    assert query(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.status AS s, r.error AS e", id=a) == \
        [{"s": "failed", "e": "interrupted"}]
    finish_run(driver, a)
    assert query(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.status AS s, r.error AS e", id=a) == \
        [{"s": "completed", "e": None}]


def chain(driver, settings, n: int = 40) -> list[Suggestion]:
    load_triples(driver, LoadInput([(f"n{i}", "NEXT", f"n{i + 1}") for i in range(n)], {}, {}), settings.graph,
                 progress=False)
    return [Suggestion(f"n{i}", "SKIP", f"n{(i + 2) % n}", float(i), 0.5 + i / (4 * n), 1, [f"e{i}"], "m")
            for i in range(n)]


def test_counts_commit_with_their_batch_even_if_the_client_dies_before_adding_them(driver, settings, monkeypatch):
    import kgcomplete.db.write as write

    items = chain(driver, settings)

    def dies(*_: object) -> None:   # the client is killed between a batch's commit and its fold
        raise neo4j.exceptions.ServiceUnavailable("killed")

    monkeypatch.setattr(write, "fold_batch", dies)
    run = start_run(driver, model="m", lock="j")
    write_suggestions(driver, run, items, settings.graph, batch_size=7, progress=False)
    assert query(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.written AS w", id=run) == [{"w": 0}]
    start_run(driver, model="m", lock="j")      # the next run of the lock finds it interrupted and counts it
    [row] = [r for r in audit(driver)["runs"] if r["id"] == run]
    assert (row["status"], row["written"], row["committed"], row["ledger"]) == ("failed", 40, 40, 0)


# ---------------------------------------------------------------------- review
@pytest.fixture
def pending(driver, settings):
    items = chain(driver, settings)
    run = start_run(driver, model="m")
    write_suggestions(driver, run, items, settings.graph, progress=False)
    finish_run(driver, run)
    return [suggestion_id(s.head, s.type, s.tail) for s in items]


def _decide(driver, sid: str, i: int, barrier: threading.Barrier, won: list[str], lost: list[str]) -> None:
    barrier.wait()
    try:
        (accept if i % 2 else reject)(driver, sid, reviewer=f"r{i}")
        won.append("accepted" if i % 2 else "rejected")
    except ReviewError as e:
        lost.append(str(e))


def test_accept_and_reject_race_has_one_winner(driver, pending):
    for sid in pending[:5]:
        barrier = threading.Barrier(6)
        won: list[str] = []
        lost: list[str] = []
        threads = [threading.Thread(target=_decide, args=(driver, sid, i, barrier, won, lost)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and len(lost) == 5 and all("already" in e for e in lost)
        [row] = query(driver, "MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s.status AS status", id=sid)
        assert row["status"] == won[0]
        real = count(driver, "MATCH (a)-[r:SKIP]->(b) WHERE r.kgc_suggestion = $id RETURN count(r)", id=sid)
        assert real == (1 if won[0] == "accepted" else 0)


def env_for(settings) -> dict[str, str]:
    return {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": secret(settings)}


def test_review_of_several_ids_is_all_or_nothing(driver, settings, pending):
    from kgcomplete.cli import app

    runner = CliRunner()
    good = pending[0]
    res = runner.invoke(app, ["review", "accept", good, "no-such-id"], env=env_for(settings))
    assert res.exit_code == 1 and isinstance(res.exception, ReviewError)
    assert str(res.exception) == "nothing was accepted: no suggestion with id 'no-such-id'"
    res = runner.invoke(app, ["review", "accept", "--above", "0.0", "no-such-id"], env=env_for(settings))
    assert res.exit_code == 1 and "nothing was accepted" in str(res.exception)
    assert count(driver, "MATCH ()-[s:SUGGESTED]->() WHERE s.status <> 'pending' RETURN count(s)") == 0
    assert count(driver, "MATCH ()-[r:SKIP]->() RETURN count(r)") == 0
    res = runner.invoke(app, ["review", "reject", good, good], env=env_for(settings))
    assert res.exit_code == 0 and "rejected 1 suggestion(s)" in res.output
    res = runner.invoke(app, ["review", "accept", "--above", "0.5", pending[1]], env=env_for(settings))
    assert res.exit_code == 0, res.output
    assert count(driver, "MATCH ()-[s:SUGGESTED {status: 'accepted'}]->() RETURN count(s)") == 39
