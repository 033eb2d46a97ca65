"""The reviewers' guide, as an analyst uses it: a real headless Chromium against the test
server's Neo4j Browser plays the guide and clicks every block of every slide, top to bottom.

Every block must fill the editor with exactly its text and run without an error; the evidence
view must draw exactly the relationships the top suggestion's reasons cite, and the decisions
made on the way must show (captions, views)."""

from __future__ import annotations

from collections import Counter

from conftest import free_port

from kgcomplete import Client
from kgcomplete.db.review import statement
from kgcomplete.records import reasons_from_properties
from kgcomplete.server.browser import SLIDES, serve
from kgcomplete.server.browser_driver import NeoBrowser
from kgcomplete.server.local import LocalNeo4j


def cited_steps(props: dict) -> set[tuple[str, str, str]]:
    return {step for reason in reasons_from_properties(props) for path in reason.paths for step in path.steps()}


def drawn_steps(record) -> set[tuple[str, str, str]]:
    return {(r.start_node["uid"], r.type, r.end_node["uid"]) for p in record["cited_paths"] for r in p.relationships}


def test_every_guide_block_runs_as_written(driver, settings, neo4j_server):
    uri, password, server = neo4j_server
    with Client(settings=settings) as kgc:
        kgc.load("sample", progress=False)
        kgc.settings.model.epochs, kgc.settings.suggest.top_k, kgc.settings.suggest.max_total = 5, 3, 40
        g = kgc.settings.generator
        g.enabled, g.epochs, g.count, g.min_probability, g.min_novelty = True, 2, 2, 0.0, 0.0
        result = kgc.enrich(progress=False)
        first, second = kgc.review.pending(limit=2)
    assert result.entities, "the entity slides need a proposed entity"

    # the data: the top suggestion's reasons are stored as paths, and the evidence statement
    # draws exactly those relationships
    records, _, _ = driver.execute_query("MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN properties(s) AS p", id=first["id"])
    expected = cited_steps(records[0]["p"])
    assert expected and all(len(r.paths) > 0 for r in reasons_from_properties(records[0]["p"]))
    records, _, _ = driver.execute_query(statement("evidence"), id=first["id"])
    assert drawn_steps(records[0]) == expected

    guide = serve(free_port(), background=True)
    browser_url = server.browser_url if server is not None else LocalNeo4j.browser_url_for(uri)
    try:
        with NeoBrowser(browser_url, uri, "neo4j", password) as nb:
            nb.play(f"http://localhost:{guide.server_address[1]}/review.html")
            assert nb.slide_count() == len(SLIDES) + 1
            ran = {}
            for number in range(len(SLIDES) + 1):
                blocks = nb.slide_blocks()
                assert blocks, f"slide {number} has no runnable block"
                for block in blocks:
                    frame = nb.run_block(block)
                    assert frame.ok, f"slide {number}: {frame.command!r} failed: {frame.error}"
                name = SLIDES[number - 1][1] if number else "intro"
                ran[name] = (frame, nb.drawn_types(frame) if frame.relationships is not None else {})
                if number < len(SLIDES):
                    nb.next_slide()
    finally:
        guide.shutdown()
        guide.server_close()

    # the evidence view drew the suggestion and exactly the cited relationships, nothing else
    evidence, drawn = ran["evidence"]
    assert drawn == Counter(t for _, t, _ in expected) + Counter({"SUGGESTED": 1})
    assert evidence.relationships == len(expected) + 1

    # the accept slide accepted the top suggestion, the reject slide the next: both captions say so
    records, _, _ = driver.execute_query(
        "MATCH ()-[s:SUGGESTED]->() WHERE s.id IN $ids RETURN s.id AS id, s.status AS status, s.caption AS caption",
        ids=[first["id"], second["id"]])
    by_id = {r["id"]: r for r in records}
    assert by_id[first["id"]]["status"] == "accepted" and by_id[first["id"]]["caption"].endswith("✓ accepted")
    assert by_id[second["id"]]["status"] == "rejected" and by_id[second["id"]]["caption"].endswith("✗ rejected")
    # the decisions view drew the real relationship the accepted one became, and the rejected suggestion
    decided = ran["decided"][1]
    assert decided.get(first["type"], 0) >= 1 and decided.get("SUGGESTED", 0) >= 1
