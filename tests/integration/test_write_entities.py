"""Proposed entities on a real Neo4j: SuggestedEntity writeback, accept and reject."""

from __future__ import annotations

import pytest
from conftest import count
from typer.testing import CliRunner

from kgcomplete.cli import app
from kgcomplete.config import GeneratorSettings, ModelSettings, SuggestSettings
from kgcomplete.db.feedback import decisions
from kgcomplete.db.load import LoadInput, load_triples
from kgcomplete.db.review import accept, accept_entity, entities_pending, reject, reject_entity
from kgcomplete.db.runs import start_run
from kgcomplete.db.write_entities import entity_id, write_entities
from kgcomplete.errors import ReviewError
from kgcomplete.jobs.enrich import enrich
from kgcomplete.records import EntityProposal, ProposedRelation

ODD_LABEL = "Odd `Label` x]->() //"
ODD_TYPE = "works `at` {x}"


def proposal(label: str | None, *rels: tuple[str, str, str, float], p: float = 0.8) -> EntityProposal:
    return EntityProposal(label=label, label_probability=0.9,
                          relations=[ProposedRelation(t, d, n, q) for d, t, n, q in rels],
                          probability=p, novelty=0.9, support=2, anchor=None, evidence=["like 3 other hubs"])


@pytest.fixture
def small(driver, settings):
    rows = [("alice", ODD_TYPE, "acme"), ("bob", ODD_TYPE, "acme"), ("alice", "knows", "bob")]
    load_triples(driver, LoadInput(rows, {}, {}), settings.graph, progress=False)
    return driver


def test_write_accept_with_odd_names(small, settings):
    driver = small
    run = start_run(driver, model="generator", kind="entities")
    new = proposal(ODD_LABEL, ("out", ODD_TYPE, "acme", 0.9), ("in", "knows", "alice", 0.7),
                   ("out", "knows", "bob", 0.6))
    report = write_entities(driver, run, [new], settings.graph, model="generator")
    assert (report.written, report.relationships) == (1, 3)
    # only the SuggestedEntity label; nothing real touched yet
    assert count(driver, "MATCH (n:SuggestedEntity) RETURN count(n)") == 1
    assert count(driver, "MATCH (n) WHERE $l IN labels(n) RETURN count(n)", l=ODD_LABEL) == 0
    assert count(driver, "MATCH ()-[r]->() WHERE type(r) <> 'SUGGESTED' RETURN count(r)") == 3
    # written again (a retried run): updated, not duplicated
    again = write_entities(driver, run, [new], settings.graph, model="generator")
    assert (again.written, again.updated) == (0, 1)
    assert count(driver, "MATCH ()-[s:SUGGESTED]->() RETURN count(s)") == 3
    pending = entities_pending(driver)
    assert len(pending) == 1 and pending[0]["label"] == ODD_LABEL and len(pending[0]["relationships"]) == 3
    # the entity's relationships are not link suggestions: not listed, not accepted alone, not decisions
    sid = driver.execute_query("MATCH (:SuggestedEntity)-[s:SUGGESTED]->({uid: 'bob'}) RETURN s.id AS id"
                               ).records[0]["id"]
    with pytest.raises(ReviewError, match="proposed entity"):
        accept(driver, sid, reviewer="t")
    assert decisions(driver).pending == []
    reject(driver, sid, reviewer="t")                    # one relationship rejected first
    row = accept_entity(driver, entity_id(new), properties={"uid": "carol", "name": "Carol"}, reviewer="ana",
                        graph=settings.graph)
    assert row["relationships"] == 2
    rec = driver.execute_query("MATCH (n {uid: 'carol'}) RETURN labels(n) AS labels, n.name AS name, "
                               "n.kgc_suggestion AS sid, n.probability AS p").records[0]
    assert sorted(rec["labels"]) == sorted([ODD_LABEL, "Entity"]) and rec["name"] == "Carol"
    assert rec["sid"] == entity_id(new) and rec["p"] is None          # no scores left as features
    assert count(driver, "MATCH ({uid: 'carol'})-[r]->({uid: 'acme'}) WHERE type(r) = $t RETURN count(r)",
                 t=ODD_TYPE) == 1
    assert count(driver, "MATCH ({uid: 'alice'})-[r:knows]->({uid: 'carol'}) RETURN count(r)") == 1
    assert count(driver, "MATCH ({uid: 'carol'})-[r:knows]->({uid: 'bob'}) RETURN count(r)") == 0  # rejected
    assert count(driver, "MATCH (n:SuggestedEntity) RETURN count(n)") == 0
    with pytest.raises(ReviewError, match="already accepted"):
        accept_entity(driver, entity_id(new), properties={"uid": "carol2"}, reviewer="ana", graph=settings.graph)


def test_accept_needs_a_new_key_and_leaves_nothing_half_done(small, settings):
    driver = small
    run = start_run(driver, model="generator", kind="entities")
    new = proposal("Person", ("out", "knows", "bob", 0.9))
    write_entities(driver, run, [new], settings.graph, model="generator")
    with pytest.raises(ReviewError, match="needs its key"):
        accept_entity(driver, entity_id(new), properties={}, reviewer="ana", graph=settings.graph)
    with pytest.raises(ReviewError, match="uid = 'alice' exists already"):
        accept_entity(driver, entity_id(new), properties={"uid": "alice"}, reviewer="ana", graph=settings.graph)
    # rolled back: still a pending proposal, no real relationship created
    assert entities_pending(driver)[0]["id"] == entity_id(new)
    assert count(driver, "MATCH ()-[r:knows]->() RETURN count(r)") == 1


def test_rejected_entities_are_not_proposed_again(small, settings):
    driver = small
    run = start_run(driver, model="generator", kind="entities")
    first = proposal("Company", ("in", ODD_TYPE, "alice", 0.9), ("in", ODD_TYPE, "bob", 0.8))
    other = proposal("Company", ("in", ODD_TYPE, "bob", 0.9), ("out", "knows", "acme", 0.5))
    assert write_entities(driver, run, [first], settings.graph, model="generator").written == 1
    row = reject_entity(driver, entity_id(first), reviewer="ana")
    assert row["relationships"] == 2
    assert count(driver, "MATCH ()-[s:SUGGESTED {status: 'rejected'}]->() RETURN count(s)") == 2
    # the same proposal, or one overlapping it by Jaccard >= 0.5, is not written again
    similar = proposal("Company", ("in", ODD_TYPE, "alice", 0.9), ("in", ODD_TYPE, "bob", 0.7),
                       ("out", "knows", "acme", 0.6))
    report = write_entities(driver, run, [first, similar, other], settings.graph, model="generator")
    assert (report.written, report.skipped) == (1, 2)       # `other` overlaps by 1/3 only
    assert count(driver, "MATCH (n:SuggestedEntity) RETURN count(n)") == 2
    with pytest.raises(ReviewError, match="already rejected"):
        reject_entity(driver, entity_id(first), reviewer="ana")


def test_enrich_with_the_generator_writes_and_cli_reviews(driver, settings):
    from kgcomplete import datasets
    from kgcomplete.db.load import load_path

    load_path(driver, datasets.path("sample"), settings.graph, progress=False)   # nations, labelled Country
    s = settings.model_copy(deep=True)
    s.model = ModelSettings(name="complex", epochs=20, options={"dim": 32})
    s.suggest = SuggestSettings(enabled=False)
    s.generator = GeneratorSettings(enabled=True, count=3, anchors=["usa", "china"], epochs=20,
                                    min_probability=0.3, min_novelty=0.0)
    result = enrich(driver, s, progress=False)
    assert result.fit is None and result.entities
    assert result.entity_report.written == count(driver, "MATCH (n:SuggestedEntity) RETURN count(n)") > 0
    assert count(driver, "MATCH (r:KGCRun {kind: 'entities', status: 'completed'}) RETURN r.entities_written"
                 ) == result.entity_report.written
    assert all(e.anchor in ("usa", "china") for e in result.entities)
    env = {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value()}
    out = CliRunner().invoke(app, ["review", "entities"], env=env)
    assert out.exit_code == 0 and "new Country" in out.output
    pid = entities_pending(driver)[0]["id"]
    out = CliRunner().invoke(app, ["review", "accept-entity", pid, "--key", "atlantis", "--name", "Atlantis",
                                   "--reviewer", "t"], env=env)
    assert out.exit_code == 0, out.output
    assert count(driver, "MATCH (n:Country:Entity {uid: 'atlantis', name: 'Atlantis'}) RETURN count(n)") == 1
    assert count(driver, "MATCH ({uid: 'atlantis'})-[r]-() WHERE type(r) <> 'SUGGESTED' RETURN count(r)") > 0
