"""warm_start: rows matched by key when entities and relations are added and removed,
every parameter carried over, checkpoint paths; fit_warm reaches the cold model's
validation MRR in fewer epochs; settings that cannot be reused are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planted import planted_graph

from kgcomplete.errors import GraphError, WarmStartMismatch
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS
from kgcomplete.training.checkpoints import save_model
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import fit
from kgcomplete.training.warm_start import fine_tune_settings, fit_warm, match_keys, warm_start

SMALL = {name: dict(dim=8) for name in ("distmult", "complex", "rotate", "transe", "rgcn", "vgae", "argva")}


@pytest.fixture(scope="module")
def planted():
    return planted_graph()


def changed(graph: KGraph, seed: int = 0) -> KGraph:
    """``graph`` a night later: e0..e2 and relation ``skip`` gone, entities n0, n1 and
    relation ``likes`` new, and both vocabularies in another order."""
    rng = np.random.default_rng(seed)
    rows = [(h, r, t) for h, r, t in graph.labeled_triples()
            if r != "skip" and h not in ("e0", "e1", "e2") and t not in ("e0", "e1", "e2")]
    rows += [("n0", "next", "e5"), ("e9", "likes", "n1"), ("n1", "same_group", "e17"), ("e3", "likes", "e4")]
    entities = [k for k in graph.entities if k not in ("e0", "e1", "e2")] + ["n0", "n1"]
    relations = ["likes"] + [r for r in graph.relations if r != "skip"]
    entities = [entities[i] for i in rng.permutation(len(entities))]
    relations = [relations[i] for i in rng.permutation(len(relations))]
    where = {k: i for i, k in enumerate(graph.entities)}
    labels = np.stack([graph.entity_labels[where[k]] if k in where else np.zeros(len(graph.labels), bool)
                       for k in entities])
    features = np.stack([graph.features[where[k]] if k in where else np.zeros(1, np.float32) for k in entities])
    return KGraph.from_labeled_triples(rows, entities=entities, relations=relations, labels=list(graph.labels),
                                       entity_labels=labels, features=features, feature_names=["position"])


def test_match_keys_pairs_equal_keys():
    old, new = match_keys(["a", "b", "c", "d"], ["d", "x", "b", "y"])
    assert old.tolist() == [3, 1] and new.tolist() == [0, 2]
    old, new = match_keys(["a"], ["b"])
    assert old.shape == new.shape == (0,) and old.dtype == np.int64


@pytest.mark.parametrize("name", ["complex", "rgcn"])
def test_rows_follow_their_keys_when_entities_and_relations_change(name, planted):
    train, _ = planted
    old = fit(name, train, None, epochs=2, progress=False, **SMALL[name]).model
    new_graph = changed(train)
    model, report = warm_start(old, new_graph, seed=3)

    assert model.entities == new_graph.entities and model.relations == new_graph.relations
    assert model.entity.weight.shape == (new_graph.num_entities, old.entity.weight.shape[1])
    assert model.relation.weight.shape == (2 * new_graph.num_relations, old.relation.weight.shape[1])
    assert (report.entities_kept, report.entities_added, report.entities_removed) == (37, 2, 3)
    assert (report.relations_kept, report.relations_added, report.relations_removed) == (3, 1, 1)
    assert report.fresh_parameters == ()
    assert "37 kept, 2 added, 3 removed" in report.summary()

    # kept entities and relations: the very same rows, wherever they moved
    R_old, R_new = old.num_relations, new_graph.num_relations
    for j, key in enumerate(new_graph.entities):
        if key in old.entities:
            assert torch.equal(model.entity.weight[j], old.entity.weight[old.entities.index(key)])
    relation_tables = ["relation.weight"] + (["layers.0.coefficients"] if name == "rgcn" else [])
    new_p, old_p = dict(model.named_parameters()), dict(old.named_parameters())
    for j, rel in enumerate(new_graph.relations):
        if rel in old.relations:
            i = old.relations.index(rel)
            for table in relation_tables:
                assert torch.equal(new_p[table][j], old_p[table][i])  # forward
                assert torch.equal(new_p[table][j + R_new], old_p[table][i + R_old])  # reciprocal
    # new entities and relations: the rows a fresh model with that seed starts from
    with torch.random.fork_rng():
        torch.manual_seed(3)
        fresh = type(old)(new_graph.num_entities, new_graph.num_relations, **model.hparams)
    added = [j for j, k in enumerate(new_graph.entities) if k not in old.entities]
    assert torch.equal(model.entity.weight[added], fresh.entity.weight[added])
    likes = new_graph.relations.index("likes")
    assert torch.equal(model.relation.weight[[likes, likes + R_new]], fresh.relation.weight[[likes, likes + R_new]])
    # parameters without entity or relation axes are copied as they are
    for key, value in new_p.items():
        if key not in ("entity.weight", *relation_tables):
            assert torch.equal(value, old_p[key]), key


def test_kept_triples_score_as_before(planted):
    train, _ = planted
    old = fit("complex", train, None, epochs=2, progress=False, dim=8).model
    new_graph = changed(train)
    model, _ = warm_start(old, new_graph)
    kept = [(h, r, t) for h, r, t in new_graph.labeled_triples() if h in old.entities and t in old.entities
            and r in old.relations]
    ids_old = torch.tensor([(old.entities.index(h), old.relations.index(r), old.entities.index(t)) for h, r, t in kept])
    ids_new = torch.tensor([(model.entities.index(h), model.relations.index(r), model.entities.index(t))
                            for h, r, t in kept])
    with torch.no_grad():
        assert torch.allclose(old.score_triples(*ids_old.t()), model.score_triples(*ids_new.t()))
        assert torch.allclose(old.score_heads(ids_old[:, 1], ids_old[:, 2])[:, ids_old[:, 0]],
                              model.score_heads(ids_new[:, 1], ids_new[:, 2])[:, ids_new[:, 0]])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_warm_starts_and_carries_all_its_parameters(name, planted):
    train, _ = planted
    old = fit(name, train, None, epochs=1, progress=False, **SMALL.get(name, {})).model
    new_graph = changed(train)
    model, report = warm_start(old, new_graph)
    assert type(model) is type(old) and report.fresh_parameters == ()
    assert {k: v for k, v in model.hparams.items()} == old.hparams
    result = fit(model, new_graph, None, epochs=1, progress=False)  # fits like a cold model
    assert result.model.score_tails(torch.tensor([0]), torch.tensor([0])).shape == (1, new_graph.num_entities)


def test_gnn_feature_map_starts_fresh_when_the_node_features_change(planted):
    train, _ = planted
    old = fit("rgcn", train, None, epochs=1, progress=False, dim=8).model
    fewer = KGraph.from_labeled_triples(train.labeled_triples(), labels=train.labels,
                                        entity_labels=train.entity_labels)  # labels, no numeric feature
    model, report = warm_start(old, fewer)
    assert report.fresh_parameters == ("features.weight",) and "re-initialised: features.weight" in report.summary()
    assert old.features.weight.shape[1] == 3 and model.features.weight.shape[1] == 2
    fit(model, fewer, None, epochs=1, progress=False)


def test_warm_start_from_a_saved_checkpoint(planted, tmp_path):
    train, _ = planted
    old = fit("complex", train, None, epochs=2, progress=False, dim=8).model
    path = save_model(tmp_path / "previous.pt", old, train)
    from_path, report = warm_start(path, changed(train))
    from_model, _ = warm_start(old, changed(train))
    assert torch.equal(from_path.entity.weight, from_model.entity.weight) and report.entities_removed == 3
    untrained = type(old)(5, 1)
    with pytest.raises(GraphError, match="vocabulary|entity keys"):
        warm_start(untrained, train)


def test_warm_fine_tune_reaches_the_cold_mrr_in_fewer_epochs(planted):
    """Last night's graph lacks e38 and e39 (new tonight) and had a made-up entity."""
    train, valid = planted
    last_night = [(h, r, t) for h, r, t in train.labeled_triples() if not {h, t} & {"e38", "e39"}]
    last_night += [("gone", "next", "e3"), ("e7", "jump", "gone")]
    previous = KGraph.from_labeled_triples(last_night)
    where = previous.entity_index()
    prev_valid = previous.with_triples(np.array(
        [(where[h], previous.relation_index()[r], where[t]) for h, r, t in valid.labeled_triples()
         if h in where and t in where]))
    settings = dict(epochs=60, dim=16, eval_every=1, patience=3, reg_weight=0.0, batch_size=64)
    old = fit("complex", previous, prev_valid, progress=False, **settings).model

    cold = fit("complex", train, valid, progress=False, **settings)
    target = cold.best_valid_mrr - 0.01
    warm, report = fit_warm(old, train, valid, progress=False, **settings)
    assert (report.entities_added, report.entities_removed) == (2, 1)
    assert warm.best_valid_mrr >= target
    first = lambda r: next(h["epoch"] for h in r.history if h.get("valid_mrr", 0) >= target)
    assert first(warm) < first(cold) and warm.epochs < cold.epochs


def test_fine_tune_settings_and_mismatched_settings(planted):
    train, _ = planted
    settings = default_settings(train, "complex")
    old = fit("complex", train, None, epochs=1, progress=False, dim=8).model
    tuned = fine_tune_settings(settings, old)
    assert "model" not in tuned and "dim" not in tuned and "reg_weight" not in tuned
    assert tuned["eval_every"] == 1 and tuned["patience"] == 2 and tuned["epochs"] <= settings["epochs"]
    assert tuned["batch_size"] == settings["batch_size"] and tuned["lr"] == pytest.approx(0.03)
    assert fine_tune_settings(dict(settings, lr=0.5), old)["lr"] == pytest.approx(0.15)
    with pytest.raises(WarmStartMismatch, match="dim=8.*dim=500"):
        fit_warm(old, train, None, **settings)
    with pytest.raises(WarmStartMismatch, match="ComplEx.*'rgcn'"):
        fit_warm(old, train, None, model="rgcn", dim=8)
    assert issubclass(WarmStartMismatch, GraphError)
    result, _ = fit_warm(old, train, None, model="default", dim=8, epochs=1, progress=False)
    assert result.epochs == 1
