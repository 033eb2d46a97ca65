"""Enrichment runs on a real Neo4j: the loop from pull to reviewed suggestions and back."""

from __future__ import annotations

import pytest
from conftest import count

from kgcomplete.config import ModelSettings, SuggestSettings
from kgcomplete.db.feedback import decisions
from kgcomplete.db.load import load_path
from kgcomplete.db.review import accept, reject
from kgcomplete.db.write import suggestion_id
from kgcomplete.jobs.enrich import enrich


@pytest.fixture
def nations(driver, settings, datasets_dir):
    load_path(driver, datasets_dir / "nations", settings.graph, progress=False)
    s = settings.model_copy(deep=True)
    s.model = ModelSettings(name="complex", epochs=30, options={"dim": 32})
    s.suggest = SuggestSettings(top_k=2, min_probability=0.0, max_total=60)
    return driver, s


def test_enrich_writes_a_run_and_rejected_pairs_never_return(nations):
    driver, settings = nations
    first = enrich(driver, settings, progress=False)
    assert first.report.written == len(first.suggestions) > 0
    assert count(driver, "MATCH (r:KGCRun {id: $id, status: 'completed'}) RETURN count(r)", id=first.run_id) == 1
    assert count(driver, "MATCH ()-[s:SUGGESTED {run_id: $id}]->() RETURN count(s)", id=first.run_id) == \
        len(first.suggestions)
    bad, good = first.suggestions[0], first.suggestions[1]
    reject(driver, suggestion_id(bad.head, bad.type, bad.tail), reviewer="t")
    accept(driver, suggestion_id(good.head, good.type, good.tail), reviewer="t")
    second = enrich(driver, settings, progress=False)
    proposed = {(s.head, s.type, s.tail) for s in second.suggestions}
    assert (bad.head, bad.type, bad.tail) not in proposed and (good.head, good.type, good.tail) not in proposed
    # pending suggestions of the first run are not proposed twice
    assert not proposed & {(s.head, s.type, s.tail) for s in first.suggestions}
    d = decisions(driver)
    assert d.rejected == [(bad.head, bad.type, bad.tail)] and len(d.accepted) == 1
    assert count(driver, "MATCH (a {uid: $h})-[r]->(b {uid: $t}) WHERE type(r) = $type RETURN count(r)",
                 h=good.head, t=good.tail, type=good.type) == 1


def test_second_run_warm_starts_from_the_jobs_checkpoint(nations, tmp_path, datasets_dir):
    driver, settings = nations
    settings.model.checkpoint_dir = str(tmp_path / "ckpt")
    lines: list[str] = []
    first = enrich(driver, settings, job="nightly", progress=False, echo=lines.append)
    assert (tmp_path / "ckpt" / "nightly.pt").is_file()
    assert not any(line.startswith("warm start") for line in lines)
    driver.execute_query("CREATE (:Entity {uid: 'atlantis'})-[:intergovorgs]->(:Entity {uid: 'lemuria'})")
    lines.clear()
    second = enrich(driver, settings, job="nightly", progress=False, echo=lines.append)
    warm = [line for line in lines if line.startswith("warm start")]
    assert len(warm) == 1 and "2 added" in warm[0], lines
    assert second.fit.epochs <= 10 < first.fit.epochs       # a fine-tune, not a full training
    assert second.fit.best_valid_mrr > 0.5 * first.fit.best_valid_mrr
    (tmp_path / "ckpt" / "nightly.pt").write_bytes(b"not a checkpoint")
    lines.clear()
    enrich(driver, settings, job="nightly", progress=False, echo=lines.append)
    assert any(line.startswith("cold start:") and "nightly.pt" in line for line in lines), lines
    settings.model.warm_start = False
    lines.clear()
    enrich(driver, settings, job="nightly", progress=False, echo=lines.append)
    assert not any(line.startswith("warm start") for line in lines)


def test_the_node_generator_is_kept_between_runs_and_the_run_says_so(nations, tmp_path):
    driver, settings = nations
    settings.model.checkpoint_dir = str(tmp_path / "ckpt")
    settings.suggest.enabled = False
    settings.generator.enabled, settings.generator.count, settings.generator.max_relations = True, 3, 5
    lines: list[str] = []
    first = enrich(driver, settings, job="gen", progress=False, echo=lines.append)
    assert (tmp_path / "ckpt" / "gen.generator.pt").is_file() and not first.generator.warm_start
    assert any(line.startswith("generator (from scratch)") for line in lines), lines
    lines.clear()
    second = enrich(driver, settings, job="gen", progress=False, echo=lines.append)
    assert second.generator.warm_start and any(line.startswith("generator warm start from") for line in lines), lines
    assert second.generator.epochs <= 20
    warm = {run: count(driver, "MATCH (r:KGCRun {id: $id}) RETURN r.metric_generator_warm_start", id=run)
            for run in (first.run_id, second.run_id)}
    assert warm == {first.run_id: 0, second.run_id: 1}


def test_the_generator_decodes_with_its_own_decoder_unless_told_to_share_the_link_predictor(nations):
    driver, settings = nations
    settings.model.epochs = 5
    settings.suggest.max_total = 5
    settings.generator.enabled, settings.generator.count, settings.generator.epochs = True, 2, 3
    own = enrich(driver, settings, progress=False)
    assert own.generator.model.link is not own.fit.model
    assert own.generator.model.width == 128  # its own decoder: 64 complex dimensions
    settings.generator.share_link = True
    shared = enrich(driver, settings, progress=False)
    assert shared.generator.model.link is shared.fit.model
    assert shared.generator.model.width == shared.fit.model.entity.weight.shape[1]
    assert not any(p.requires_grad for p in shared.fit.model.parameters())  # frozen while the generator trained
    settings.suggest.enabled = False
    lines: list[str] = []
    alone = enrich(driver, settings, progress=False, echo=lines.append)
    assert alone.fit is None and any("share_link: no trained ComplEx" in line for line in lines), lines
