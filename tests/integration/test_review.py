"""Reviewing suggestions on a real Neo4j with the statements of cypher/review/."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import count

from kgcomplete.db.feedback import decisions
from kgcomplete.db.load import LoadInput, load_triples
from kgcomplete.db.review import accept, accept_above, for_node, list_pending, reject, stats
from kgcomplete.db.runs import finish_run, start_run
from kgcomplete.db.write import suggestion_id, write_suggestions
from kgcomplete.errors import ReviewError
from kgcomplete.records import Suggestion

ODD_TYPES = ["we`ird {type}", "it's \"quoted\"", "Ünïcödé → 関係", "x]->() DETACH DELETE n //", "/film/film/genre"]


@pytest.fixture
def reviewed_db(driver, settings):
    load_triples(driver, LoadInput([(f"n{i}", "NEXT", f"n{i + 1}") for i in range(20)], {}, {}),
                 settings.graph, progress=False)
    items = [Suggestion(f"n{i}", ODD_TYPES[i % len(ODD_TYPES)], f"n{(i + 5) % 20}", float(i), i / 20, 1,
                        [f"evidence {i}"], "m") for i in range(20)]
    run = start_run(driver, model="m")
    write_suggestions(driver, run, items, settings.graph, progress=False)
    finish_run(driver, run)
    return driver, items


def sid(s: Suggestion) -> str:
    return suggestion_id(s.head, s.type, s.tail)


def test_list_pending_by_probability(reviewed_db):
    driver, items = reviewed_db
    rows = list_pending(driver, limit=5)
    assert [r["probability"] for r in rows] == sorted((round(s.probability, 3) for s in items), reverse=True)[:5]
    only = list_pending(driver, limit=50, type=ODD_TYPES[1])
    assert {r["type"] for r in only} == {ODD_TYPES[1]} and len(only) == 4
    assert {r["head"] for r in for_node(driver, "n3")} | {r["tail"] for r in for_node(driver, "n3")} >= {"n3"}


@pytest.mark.parametrize("k", range(len(ODD_TYPES)))
def test_accept_odd_type_creates_exactly_one_relationship(reviewed_db, k):
    driver, items = reviewed_db
    s = items[k + 5]
    [row] = accept(driver, sid(s), reviewer="ana")
    assert row["status"] == "accepted" and row["type"] == s.type
    assert count(driver, "MATCH (a {uid: $h})-[r]->(b {uid: $t}) WHERE type(r) = $type RETURN count(r)",
                 h=s.head, t=s.tail, type=s.type) == 1
    rec = driver.execute_query("MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s", id=sid(s), database_="neo4j")
    sug = rec.records[0]["s"]
    assert sug["reviewed_by"] == "ana" and sug["reviewed_at"] is not None
    with pytest.raises(ReviewError, match="already accepted"):
        accept(driver, sid(s), reviewer="bob")
    assert count(driver, "MATCH ()-[r]->() WHERE type(r) = $type RETURN count(r)", type=s.type) == 1
    assert count(driver, "MATCH (n) RETURN count(n)") == 21 + 1  # 21 entities + the run; nothing deleted


def test_accept_when_real_relationship_appeared_meanwhile(reviewed_db):
    driver, items = reviewed_db
    s = items[7]
    driver.execute_query("MATCH (a {uid: $h}), (b {uid: $t}) CREATE (a)-[:$($type)]->(b)",
                         h=s.head, t=s.tail, type=s.type, database_="neo4j")
    accept(driver, sid(s), reviewer="ana")
    assert count(driver, "MATCH (a {uid: $h})-[r]->(b {uid: $t}) WHERE type(r) = $type RETURN count(r)",
                 h=s.head, t=s.tail, type=s.type) == 1


def test_reject_and_decisions(reviewed_db):
    driver, items = reviewed_db
    reject(driver, sid(items[3]), reviewer="ana")
    with pytest.raises(ReviewError, match="already rejected"):
        accept(driver, sid(items[3]), reviewer="ana")
    with pytest.raises(ReviewError, match="no suggestion"):
        reject(driver, "nope", reviewer="ana")
    accept(driver, sid(items[4]), reviewer="ana")
    d = decisions(driver)
    assert d.rejected == [(items[3].head, items[3].type, items[3].tail)]
    assert d.accepted == [(items[4].head, items[4].type, items[4].tail)]
    assert len(d.pending) == 18
    assert count(driver, "MATCH ()-[r]->() WHERE type(r) = $t RETURN count(r)", t=items[3].type) == 0


def test_a_review_of_several_ids_is_all_or_nothing(reviewed_db):
    driver, items = reviewed_db
    good, done = sid(items[1]), sid(items[2])
    reject(driver, done, reviewer="ana")
    with pytest.raises(ReviewError) as err:
        accept(driver, [good, "no-such-id", done], reviewer="ana")
    assert "nothing was accepted" in str(err.value) and "'no-such-id'" in str(err.value)
    assert f"{done!r} is already rejected" in str(err.value) and repr(good) not in str(err.value)
    assert count(driver, "MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s.status = 'pending'", id=good) == 1
    assert count(driver, "MATCH ()-[r]->() WHERE type(r) = $t RETURN count(r)", t=items[1].type) == 0
    rows = reject(driver, [good, good], reviewer="ana")   # a repeated id is decided once
    assert [r["id"] for r in rows] == [good]


def test_accept_above_and_stats(reviewed_db):
    driver, items = reviewed_db
    done = accept_above(driver, 0.8, reviewer="ana")
    assert sorted(r["id"] for r in done) == sorted(sid(s) for s in items if s.probability >= 0.8)
    st = stats(driver)
    assert sum(r["accepted"] for r in st["by_type"]) == len(done)
    assert sum(r["pending"] for r in st["by_type"]) == 20 - len(done)
    assert st["by_run"][0]["accepted"] == len(done) and st["by_run"][0]["status"] == "completed"
    for row in st["by_type"]:  # only accepted so far: the share is 1 where any was reviewed
        mine = [s for s in items if s.type == row["type"] and s.probability >= 0.8]
        assert row["accepted_share"] == (1.0 if mine else None)
        if mine:
            assert row["mean_probability_reviewed"] == pytest.approx(np.mean([s.probability for s in mine]), abs=1e-3)
    with pytest.raises(ReviewError, match="between 0 and 1"):
        accept_above(driver, 1.5, reviewer="ana")


def test_review_cli(reviewed_db, settings):
    from typer.testing import CliRunner

    from kgcomplete.cli import app

    driver, items = reviewed_db
    env = {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value(),
           "KGC_REVIEWER": "cli-user"}
    runner = CliRunner()
    res = runner.invoke(app, ["review", "list", "--limit", "3"], env=env)
    assert res.exit_code == 0 and sid(items[19]) in res.output
    res = runner.invoke(app, ["review", "accept", sid(items[19]), sid(items[18])], env=env)
    assert res.exit_code == 0 and "accepted 2" in res.output
    res = runner.invoke(app, ["review", "reject", sid(items[17])], env=env)
    assert res.exit_code == 0 and "rejected 1" in res.output
    res = runner.invoke(app, ["review", "stats"], env=env)
    assert res.exit_code == 0 and "by run" in res.output
    d = decisions(driver)
    assert len(d.accepted) == 2 and len(d.rejected) == 1
    assert count(driver, "MATCH ()-[s:SUGGESTED {status: 'accepted'}]->() WHERE s.reviewed_by = 'cli-user' "
                         "RETURN count(s)") == 2
