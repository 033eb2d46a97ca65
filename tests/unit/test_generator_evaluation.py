"""The node-generator evaluation: split, K-shot ranking, matching metrics, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from test_generator import hub_graph
from typer.testing import CliRunner

from kgcomplete.cli import app
from kgcomplete.evaluation.generator import (
    drop_entities,
    generator_kshot,
    holdout_split,
    kshot_queries,
    match_metrics,
    random_degree,
)
from kgcomplete.models.generator import primary_labels
from kgcomplete.proposals.entities import relationship_sets
from kgcomplete.training.generator import fit_generator

runner = CliRunner()


def test_match_metrics_on_hand_computed_sets():
    width = 100
    true = [np.array([1, 2, 3, 4]), np.array([10, 11])]
    cand = [np.array([1, 2, 9]),  # vs true[0]: 2 shared, F1 = 2*2/(3+4) = 4/7
            np.array([10, 11, 12, 13]),  # vs true[1]: F1 = 2*2/(4+2) = 2/3, but another label
            np.array([50])]
    existing = sp.csr_matrix((np.ones(3), ([0, 0, 1], [1, 2, 50])), shape=(2, width))  # {1, 2}, {50}
    m = match_metrics(cand, np.array([0, 1, 1]), true, np.array([0, 0]), existing, width)
    assert m["mean_matched_f1"] == pytest.approx((4 / 7 + 0.0) / 2), "F1 is 0 across labels"
    assert m["recall_at_f1_0_5"] == pytest.approx(0.5) and m["recall_at_f1_0_2"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(1 / 3), "one of three candidates matched with F1 >= 0.2"
    assert m["label_accuracy"] == pytest.approx(0.5)
    # Jaccard with {1, 2}: 2/3 for cand 0; {50} equals cand 2: two duplicates of three
    assert m["duplicate_rate"] == pytest.approx(2 / 3) and m["uniqueness"] == 1.0
    same = match_metrics([true[0], true[0]], np.array([0, 0]), true, np.array([0, 0]), existing, width)
    assert same["mean_matched_f1"] == pytest.approx(0.5) and same["uniqueness"] == 0.5
    assert m["self_duplicate_rate"] == 0.0 and same["self_duplicate_rate"] == 1.0, "two equal candidates"
    # true[0] is itself a duplicate of {1, 2} (Jaccard 0.5); true[1] is not: only it counts in the _novel mean
    assert m["mean_matched_f1_novel"] == 0.0
    found = match_metrics([true[1]], np.array([0]), true, np.array([0, 0]), existing, width)
    assert found["mean_matched_f1"] == pytest.approx(0.5) and found["mean_matched_f1_novel"] == pytest.approx(1.0)


def test_holdout_split_is_stratified_and_removes_every_edge():
    graph = hub_graph(groups=20, missing=None)
    rest, held, sets = holdout_split(graph, 0.05, seed=0)
    label = primary_labels(graph)
    assert len(held) >= 4 and len(held) == len(sets)
    assert not np.isin(rest.triples[:, [0, 2]], held).any(), "held-out entities keep no edge"
    assert all(len(s) >= 2 for s in sets)
    assert rest.num_triples + sum(len(s) for s in sets) <= graph.num_triples
    spokes = int((label[held] == graph.labels.index("Spoke")).sum())
    assert 3 <= spokes <= 7, "about 5% of the 100 spokes"
    a, b = holdout_split(graph, 0.05, seed=0)[1], holdout_split(graph, 0.05, seed=1)[1]
    assert a.tolist() != b.tolist()
    rev, hid, used = kshot_queries(held, sets, 1, graph.num_entities, seed=0)
    assert len(rev) == len(used) and len(rev) + len(hid) == sum(len(sets[i]) for i in used)


def test_drop_entities_isolates_another_share_per_seed():
    graph = hub_graph(groups=20, missing=None)
    active = np.unique(graph.triples[:, [0, 2]])
    isolated = lambda g: set(active) - set(np.unique(g.triples[:, [0, 2]]).tolist())
    a, b = drop_entities(graph, 0.05, seed=0), drop_entities(graph, 0.05, seed=1)
    assert a.entities == graph.entities, "the vocabulary stays"
    gone_a, gone_b = isolated(a), isolated(b)
    assert len(gone_a) >= round(0.05 * len(active)) and gone_a != gone_b
    kept = {tuple(t) for t in a.triples.tolist()}
    assert kept == {tuple(t) for t in graph.triples.tolist() if t[0] not in gone_a and t[2] not in gone_a}
    rest, held, _ = holdout_split(a, 0.05, seed=0)
    assert not set(held.tolist()) & gone_a, "a dropped entity is never held out"
    with pytest.raises(Exception, match="share of entities to drop"):
        drop_entities(graph, 1.0, seed=0)


def test_kshot_ranks_a_held_out_hubs_spokes_first():
    graph = hub_graph(missing=None)
    idx = graph.entity_index()
    hub = idx["hub3"]
    rest = graph.with_triples(graph.triples[(graph.triples[:, 0] != hub) & (graph.triples[:, 2] != hub)])
    n, R = graph.num_entities, graph.num_relations
    t = graph.triples[(graph.triples[:, 0] == hub) | (graph.triples[:, 2] == hub)]
    keys = np.where(t[:, 0] == hub, t[:, 1] * n + t[:, 2], (t[:, 1] + R) * n + t[:, 0])
    sets, excluded = [np.unique(keys)], np.array([hub])
    fit = fit_generator(rest, epochs=100, mask_fraction=0.1, seed=0, progress=False, threads=1)
    trained = generator_kshot(fit.model, rest, np.array([hub]), sets, 1, 0, excluded)
    untrained = generator_kshot(fit_generator(rest, epochs=0, progress=False).model, rest, np.array([hub]), sets, 1,
                                0, excluded)
    assert trained["queries"] == len(sets[0]) - 1
    assert trained["mrr"] >= 0.5 and trained["mrr"] > untrained["mrr"] + 0.2, (trained, untrained)


def test_random_degree_keeps_degree_and_relation_mix():
    graph = hub_graph(missing=None)
    existing = relationship_sets(graph)
    sets, labels = random_degree(graph, existing, primary_labels(graph), 20, np.random.default_rng(0))
    n = graph.num_entities
    for s in sets:
        assert 1 <= len(s) and set((s // n).tolist()) <= set(range(2 * graph.num_relations))
    spoke = graph.labels.index("Spoke")
    assert all(sorted(set((s // n).tolist())) == [0, 1, 3] for s, lab in zip(sets, labels) if lab == spoke)


def test_cli_evaluate_generator_json(tmp_path):
    graph = hub_graph(groups=20, missing=None)
    folder = tmp_path / "hubs"
    folder.mkdir()
    (folder / "train.tsv").write_text("".join("\t".join(r) + "\n" for r in graph.labeled_triples()))
    label = primary_labels(graph)
    (folder / "entity_types.tsv").write_text("entity\ttype\n" + "".join(
        f"{e}\t{graph.labels[label[i]]}\n" for i, e in enumerate(graph.entities)))
    res = runner.invoke(app, ["evaluate-generator", str(folder), "--seeds", "0", "--epochs", "5", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)   # the JSON alone on stdout; progress went to stderr
    for key in ("mean_matched_f1", "recall_at_f1_0_5", "precision", "label_accuracy", "duplicate_rate",
                "self_duplicate_rate"):
        assert 0.0 <= out[key] <= 1.0, key
        for name in ("copy_random", "random_degree", "oracle"):
            assert 0.0 <= out["baselines"][name][key] <= 1.0, (name, key)
    assert set(out["kshot_mrr"]) == {"1", "3"} and set(out["link_predictor_kshot_mrr"]) == {"3"}
    for part in ("kshot_decoder_mrr", "kshot_votes_mrr"):
        assert all(0.0 < out[part][k] <= 1.0 for k in ("1", "3")), part
    assert out["seeds"] == [0] and "spread" in out and "candidates_3k" in out
    assert out["baselines"]["copy_random"]["duplicate_rate"] == 1.0, "copies are duplicates by definition"
    assert out["baselines"]["oracle_novel"]["duplicate_rate"] == 0.0, "the oracle's duplicates are dropped"
    assert out["baselines"]["oracle_novel"]["candidates"] <= out["baselines"]["oracle"]["candidates"]
    assert 0.0 <= out["held_out_duplicate_rate"] <= 1.0
    assert out["self_duplicate_rate"] == 0.0 and out["candidates_3k"]["self_duplicate_rate"] == 0.0, \
        "no two proposals of one run are duplicates"
    dropped = runner.invoke(app, ["evaluate-generator", str(folder), "--seeds", "0", "--epochs", "2", "--held-out",
                                  "0.1", "--drop", "0.05", "--share-link", "--json"])
    assert dropped.exit_code == 0, dropped.output
    other = json.loads(dropped.stdout)
    assert other["fraction"] == 0.1 and other["drop"] == 0.05 and out["drop"] == 0.0
    # --share-link: the default link predictor is trained first and the generator decodes with it
    assert other["share_link"] and not out["share_link"]
    assert other["per_seed"][0]["shared_link_train_seconds"] > 0 and "shared_link_train_seconds" not in out["per_seed"][0]
    assert other["held_out"] > out["held_out"], "a tenth held out instead of a twentieth"
    bad = runner.invoke(app, ["evaluate-generator", str(folder), "--seeds", "a,b"])
    assert bad.exit_code != 0 and "--seeds" in str(bad.exception)
