"""Writing suggestions and runs back into a real Neo4j."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import count, free_port

from kgcomplete.config import load_settings
from kgcomplete.db.connect import connect, translate_errors
from kgcomplete.db.load import LoadInput, load_triples
from kgcomplete.db.runs import fail_run, finish_run, start_run
from kgcomplete.db.write import suggestion_id, write_suggestions
from kgcomplete.errors import Neo4jConnectionError
from kgcomplete.records import CitedPath, Reason, Suggestion, reasons_from_properties
from kgcomplete.server.local import LocalNeo4j

ODD_TYPE = "we`ird {type} 'é'"


def chain(n: int) -> list[tuple[str, str, str]]:
    return [(f"n{i}", "NEXT", f"n{i + 1}") for i in range(n)]


def proposals(n: int, model: str = "test", p: float = 0.5) -> list[Suggestion]:
    return [Suggestion(head=f"n{i}", type="LINK", tail=f"n{(i * 7 + 3) % n}", score=1.0 + i, probability=p,
                       rank=1, evidence=[f"because {i}"], model=model) for i in range(n)]


@pytest.fixture
def graph_db(driver, settings):
    load_triples(driver, LoadInput(chain(50), {}, {}), settings.graph, progress=False)
    return driver


def suggested(driver) -> int:
    return count(driver, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)")


def test_write_run_and_properties(graph_db, settings):
    run = start_run(graph_db, model="ComplEx", parameters={"dim": 8})
    batch = [Suggestion("n1", ODD_TYPE, "n9", 3.5, 0.8, 1, ["n1 -NEXT-> n2 -NEXT-> ... (0.9)"], "ComplEx"),
             Suggestion("n0", "NEXT", "n1", 2.0, 0.9, 1, [], "ComplEx")]  # the real one exists: skipped
    report = write_suggestions(graph_db, run, batch, settings.graph, progress=False)
    finish_run(graph_db, run, seconds=report.seconds, metrics={"mrr": 0.5})
    assert (report.written, report.updated, report.skipped) == (1, 0, 1)
    rec = graph_db.execute_query("MATCH (a {uid: 'n1'})-[s:SUGGESTED]->(b {uid: 'n9'}) RETURN s", database_="neo4j").records
    s = rec[0]["s"]
    assert s["type"] == ODD_TYPE and s["probability"] == 0.8 and s["status"] == "pending" and s["run_id"] == run
    assert s["evidence"] == ["n1 -NEXT-> n2 -NEXT-> ... (0.9)"] and s["id"] == suggestion_id("n1", ODD_TYPE, "n9")
    assert s["caption"] and s["created_at"] and s["updated_at"] and s["model"] == "ComplEx"
    r = graph_db.execute_query("MATCH (r:KGCRun {id: $id}) RETURN r", id=run, database_="neo4j").records[0]["r"]
    assert r["status"] == "completed" and r["written"] == 1 and r["skipped"] == 1 and r["metric_mrr"] == 0.5
    assert count(graph_db, "MATCH ()-[r]->() WHERE type(r) = $t RETURN count(r)", t=ODD_TYPE) == 0


def test_reasons_are_written_as_data_and_a_refresh_replaces_them(graph_db, settings):
    cited = Reason("n1 -NEXT-> n2 -NEXT-> n3", "rule", 0.7, [CitedPath(["n1", "n2", "n3"], ["NEXT", "NEXT"], [True, True])])
    back = Reason("n3 <-NEXT- n2 ... n1", "rule", 0.4, [CitedPath(["n3", "n2"], ["NEXT"], [False])])
    first = Suggestion("n1", "LINK", "n3", 1.0, 0.6, 1, model="m", reasons=[cited, back], head_name="one")
    write_suggestions(graph_db, start_run(graph_db, model="m"), [first], settings.graph, progress=False)
    props = lambda: graph_db.execute_query("MATCH ()-[s:SUGGESTED]->() RETURN properties(s) AS p",
                                           database_="neo4j").records[0]["p"]
    stored = props()
    assert reasons_from_properties(stored) == [cited, back] and stored["evidence"] == [cited.text, back.text]
    assert stored["evidence_step_from"] == ["n1", "n2", "n2"] and stored["evidence_step_to"] == ["n2", "n3", "n3"]
    assert stored["key_property"] == "uid" and stored["head_name"] == "one" and "tail_name" not in stored
    # the next run proposes it again with other reasons: none of the old paths or names stays
    again = Suggestion("n1", "LINK", "n3", 1.0, 0.5, 1, model="m", reasons=[Reason("n1 is near n3", "neighbours", 0.2)])
    write_suggestions(graph_db, start_run(graph_db, model="m"), [again], settings.graph, progress=False)
    stored = props()
    assert reasons_from_properties(stored) == [Reason("n1 is near n3", "neighbours", 0.2)]
    assert not any(k.startswith("evidence_step_") for k in stored) and "head_name" not in stored


def test_rerun_updates_instead_of_duplicating(graph_db, settings):
    first = start_run(graph_db, model="m")
    write_suggestions(graph_db, first, proposals(50, p=0.4), settings.graph, progress=False)
    n = suggested(graph_db)
    second = start_run(graph_db, model="m")
    report = write_suggestions(graph_db, second, proposals(50, p=0.6), settings.graph, progress=False)
    assert suggested(graph_db) == n and report.written == 0 and report.updated == n
    assert count(graph_db, "MATCH ()-[s:SUGGESTED]->() WHERE s.run_id = $r AND s.probability = 0.6 RETURN count(s)",
                 r=second) == n


def test_reviewed_suggestions_are_never_modified(graph_db, settings):
    run = start_run(graph_db, model="m")
    write_suggestions(graph_db, run, proposals(50, p=0.4), settings.graph, progress=False)
    graph_db.execute_query("MATCH ()-[s:SUGGESTED]->() WITH s ORDER BY s.id LIMIT 3 SET s.status = 'rejected'",
                           database_="neo4j")
    again = start_run(graph_db, model="m")
    write_suggestions(graph_db, again, proposals(50, p=0.9), settings.graph, progress=False)
    assert count(graph_db, "MATCH ()-[s:SUGGESTED {status: 'rejected'}]->() "
                           "WHERE s.probability = 0.4 AND s.run_id = $r RETURN count(s)", r=run) == 3


def test_two_writebacks_at_once_do_not_duplicate(graph_db, settings):
    items = proposals(50) + [Suggestion(f"n{i}", "LINK2", f"n{j}", 1.0, 0.5, 1, [], "m")
                             for i in range(50) for j in range(0, 50, 5)]
    runs = [start_run(graph_db, model="m") for _ in range(2)]
    errors: list[BaseException] = []
    reports = []

    def write(run: str) -> None:
        try:
            reports.append(write_suggestions(graph_db, run, items, settings.graph, batch_size=37, progress=False))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = len({(s.head, s.type, s.tail) for s in items})
    assert suggested(graph_db) == expected
    # each suggestion was created by exactly one of the two, and updated (or skipped) by the other
    assert sum(r.written for r in reports) == expected
    assert all(r.written + r.updated + r.skipped == len(items) for r in reports)
    assert count(graph_db, "MATCH (a)-[s:SUGGESTED]->(b) WITH a, b, s.type AS t, count(*) AS c "
                           "WHERE c > 1 RETURN count(*)") == 0


def test_missing_endpoint_is_skipped(graph_db, settings):
    run = start_run(graph_db, model="m")
    report = write_suggestions(graph_db, run, [Suggestion("n1", "LINK", "ghost", 1, 0.5, 1, [], "m")],
                               settings.graph, progress=False)
    assert report.skipped == 1 and suggested(graph_db) == 0


def test_server_stopped_mid_writeback_then_rerun_completes(tmp_path):
    server = LocalNeo4j(tmp_path / "neo4j", bolt_port=free_port(), http_port=free_port(),
                        password="stop-test-pw", heap="512m", pagecache="128m")
    server.start()
    try:
        settings = load_settings(None, env={}, neo4j={"uri": server.bolt_uri, "password": "stop-test-pw"})
        driver = connect(settings.neo4j)
        load_triples(driver, LoadInput(chain(400), {}, {}), settings.graph, progress=False)
        items = [Suggestion(f"n{i}", "LINK", f"n{j}", 1.0, 0.5, 1, [], "m")
                 for i in range(0, 400, 4) for j in range(1, 400, 10)]
        run = start_run(driver, model="m")
        failure: list[BaseException] = []

        def write() -> None:
            try:
                with translate_errors(settings.neo4j):
                    write_suggestions(driver, run, items, settings.graph, batch_size=10, progress=False)
            except BaseException as e:
                failure.append(e)
                fail_run(driver, run, e)

        worker = threading.Thread(target=write)
        worker.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if count(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.written", id=run) >= 200:
                break
            time.sleep(0.05)
        server.stop()
        worker.join(timeout=120)
        assert failure and isinstance(failure[0], Neo4jConnectionError)
        driver.close()

        server.start()
        driver = connect(settings.neo4j)
        partial = count(driver, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)")
        assert 0 < partial < len(items)
        rerun = start_run(driver, model="m", stale_after=0)
        assert count(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.status = 'failed'", id=run)
        report = write_suggestions(driver, rerun, items, settings.graph, progress=False)
        finish_run(driver, rerun, seconds=report.seconds)
        assert report.written == len(items) - partial
        assert count(driver, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)") == len(items)
        assert count(driver, "MATCH (a)-[s:SUGGESTED]->(b) WITH a, b, s.type AS t, count(*) AS c "
                             "WHERE c > 1 RETURN count(*)") == 0
        driver.close()
    finally:
        server.stop()


@pytest.mark.parametrize("writers", [1, 2])
def test_a_stop_request_lets_the_batches_in_flight_commit_and_the_next_run_writes_the_rest(
        graph_db, settings, writers):
    import re

    from kgcomplete.errors import Stopped

    props = proposals(50)
    asked: list[int] = []

    def stop_after_two_batches() -> bool:
        asked.append(suggested(graph_db))
        return len(asked) >= 2

    run = start_run(graph_db, model="test")
    with pytest.raises(Stopped, match="after writing [0-9]+ of 50") as stop:
        write_suggestions(graph_db, run, props, settings.graph, batch_size=10, writers=writers, progress=False,
                          should_stop=stop_after_two_batches)
    written = int(re.search("after writing ([0-9]+)", str(stop.value)).group(1))
    # asked as batches commit; after the last answer only the batches already in flight commit
    assert len(asked) == 2 and 0 < asked[0] <= asked[1] <= written == suggested(graph_db) < 50
    assert written - asked[1] <= 10 * (writers - 1)
    if writers == 1:
        assert written == 20
    fail_run(graph_db, run, "stopped")
    second = start_run(graph_db, model="test")
    report = write_suggestions(graph_db, second, props, settings.graph, batch_size=10, progress=False)
    assert (report.written, report.updated, report.skipped) == (50 - written, written, 0)
    assert suggested(graph_db) == 50


def test_suggestion_ids_are_the_hash_of_the_json_triple_whatever_the_characters():
    # ids written by earlier versions must stay valid: the fast path builds the same text
    import hashlib
    import json

    odd = ['plain', 'q"uote', "back\\slash", "tab\tnew\nline", "ünï中文\u2028", "", "\x00\x1f", "x" * 300]
    for head in odd:
        for tail in odd[::-1]:
            expected = hashlib.sha1(json.dumps([head, "REL", tail]).encode()).hexdigest()[:20]
            assert suggestion_id(head, "REL", tail) == expected
    assert suggestion_id("a", "R", "b") != suggestion_id("b", "R", "a")
