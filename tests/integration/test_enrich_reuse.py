"""Reusing a trained NBFNet on today's graph without training, on a real Neo4j: a node
added after training gets suggestions in the next run, and the run records that it did
not train."""

from __future__ import annotations

from conftest import count

from kgcomplete.config import ModelSettings, SuggestSettings
from kgcomplete.db.load import load_path
from kgcomplete.jobs.enrich import enrich


def test_a_node_added_after_training_gets_suggestions_without_training(driver, settings, datasets_dir, tmp_path):
    load_path(driver, datasets_dir / "nations", settings.graph, progress=False)
    s = settings.model_copy(deep=True)
    s.model = ModelSettings(name="nbfnet", epochs=3, threads=1, checkpoint_dir=str(tmp_path / "ckpt"), reuse=True,
                            options={"dim": 16, "loss": "1-n"})
    s.suggest = SuggestSettings(top_k=3, min_probability=0.0, max_total=100_000,
                                relationship_types=["intergovorgs", "treaties", "embassy"])
    lines: list[str] = []
    first = enrich(driver, s, job="nightly", progress=False, echo=lines.append)
    assert any(line.startswith("no checkpoint to reuse") for line in lines), lines
    assert first.fit is not None and first.fit.epochs == 3 and not first.reused
    assert (tmp_path / "ckpt" / "nightly.pt").is_file()
    assert count(driver, "MATCH (r:KGCRun {id: $id}) WHERE r.metric_trained = 1.0 RETURN count(r)",
                 id=first.run_id) == 1

    # a country the model never saw, linked to known ones by known relationship types
    driver.execute_query("MATCH (uk:Entity {uid: 'uk'}), (usa:Entity {uid: 'usa'}) "
                         "CREATE (a:Entity {uid: 'atlantis'})-[:intergovorgs]->(uk), (a)-[:treaties]->(usa), "
                         "(usa)-[:embassy]->(a)")
    lines.clear()
    second = enrich(driver, s, job="nightly", progress=False, echo=lines.append)
    reuse = [line for line in lines if line.startswith("reusing")]
    assert len(reuse) == 1 and "1 new since it was trained" in reuse[0], lines
    assert not any(line.startswith("trained ") for line in lines), lines
    assert second.reused and second.fit is not None and second.fit.epochs == 0
    assert second.fit.stop_reason == "reused" and second.fit.model.entities is not None
    assert "atlantis" in second.fit.model.entities
    about_new = [x for x in second.suggestions if "atlantis" in (x.head, x.tail)]
    assert about_new, "the new node gets suggestions"
    assert count(driver, "MATCH (:Entity {uid: 'atlantis'})-[r:SUGGESTED {run_id: $id}]-() RETURN count(r)",
                 id=second.run_id) == len(about_new)
    # the model's own paths are written beside the rule-based reasons, citing real relationships
    model_paths = [r for x in second.suggestions for r in x.reasons if r.kind == "model_path"]
    assert model_paths and all(p.nodes[0] != p.nodes[-1] for r in model_paths for p in r.paths)
    for reason in model_paths[:20]:
        for a, t, b in reason.paths[0].steps():
            assert count(driver, "MATCH ({uid: $a})-[r]->({uid: $b}) WHERE type(r) = $t RETURN count(r)",
                         a=a, t=t, b=b) >= 1
    assert count(driver, "MATCH ()-[s:SUGGESTED {run_id: $id}]->() WHERE 'model_path' IN s.evidence_kind "
                         "RETURN count(s)", id=second.run_id) > 0
    assert count(driver, "MATCH (r:KGCRun {id: $id, status: 'completed'}) WHERE r.metric_trained = 0.0 "
                         "AND r.metric_epochs = 0.0 RETURN count(r)", id=second.run_id) == 1
    # the checkpoint is the one trained in the first run: reuse does not overwrite it with itself
    assert (tmp_path / "ckpt" / "nightly.pt").stat().st_size > 0
