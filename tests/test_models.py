"""Every model learns a planted-rule graph; the scoring interface is consistent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgcomplete.errors import GraphError
from kgcomplete.evaluate import evaluate
from kgcomplete.models import MODELS, LinkPredictor, make_model
from kgcomplete.train import fit
from planted import planted_graph, test_subset

# TransE under the 1-N softmax learns the line slowly (neighbours sit |r| apart), hence
# more epochs and a lower bar; it is trained without the communities it cannot express.
MIN_MRR = {"transe": 0.7}
LINE_ONLY = {"transe"}
# What each model can express: DistMult scores (h, r, t) and (t, r, h) alike, so it cannot
# learn the directed composition; TransE cannot represent symmetric relations; the
# relation-agnostic neighbourhood heuristics only see the communities.
CAN_LEARN = {
    "distmult": ["same_group"],
    "transe": ["jump"],
    "complex": ["jump", "same_group"],
    "rotate": ["jump", "same_group"],
    "rgcn": ["jump", "same_group"],
    "vgae": ["jump", "same_group"],
    "argva": ["jump", "same_group"],
    "path_rules": ["jump", "same_group"],
    "common_neighbours": ["same_group"],
    "adamic_adar": ["same_group"],
}
SETTINGS = {
    "distmult": dict(epochs=60, dim=32),
    "transe": dict(epochs=300, dim=32, lr=0.5),
    "complex": dict(epochs=60, dim=32),
    "rotate": dict(epochs=60, dim=32),
    "rgcn": dict(epochs=60, dim=32),
    "vgae": dict(epochs=80, dim=32),
    "argva": dict(epochs=80, dim=32),
}


@pytest.fixture(scope="module")
def planted():
    return planted_graph()


def test_every_model_is_covered():
    assert set(MODELS) == set(CAN_LEARN)


@pytest.mark.parametrize("name", sorted(CAN_LEARN))
def test_model_learns_planted_rules(name, planted):
    train, test = planted
    if name in LINE_ONLY:
        train = train.with_triples(train.triples[train.triples[:, 1] != 3])
    result = fit(name, train, None, progress=False, seed=0, **SETTINGS.get(name, {}))
    held_out = test_subset(test, CAN_LEARN[name])
    metrics = evaluate(result.model, held_out, known=[train, test])
    assert metrics["mrr"] >= MIN_MRR.get(name, 0.8), (name, metrics["per_relation"])
    # ... and a model that has not learned anything is far worse on the same triples
    if result.model.trainable:
        untrained = make_model(name, train.num_entities, train.num_relations, **{
            k: v for k, v in SETTINGS[name].items() if k not in ("epochs", "lr")})
        untrained.prepare(train)
        assert evaluate(untrained, held_out, known=[train, test])["mrr"] < metrics["mrr"] - 0.3


@pytest.mark.parametrize("name", sorted(CAN_LEARN))
def test_scoring_interface_is_consistent(name, planted):
    train, _ = planted
    model: LinkPredictor = fit(name, train, None, epochs=2, progress=False, **{
        k: v for k, v in SETTINGS.get(name, {}).items() if k not in ("epochs", "lr")}).model
    h, r, t = (torch.as_tensor(train.triples[:7, i]) for i in range(3))
    with torch.no_grad():
        tails, heads = model.score_tails(h, r), model.score_heads(r, t)
        triples = model.score_triples(h, r, t)
    assert tails.shape == heads.shape == (7, train.num_entities) and triples.shape == (7,)
    assert torch.allclose(triples, tails[torch.arange(7), t], atol=1e-5)
    assert torch.isfinite(tails).all() and torch.isfinite(heads).all()
    with pytest.raises(GraphError, match="unknown relation index 4"):
        model.score_tails(h, torch.full_like(r, train.num_relations))
    with pytest.raises(GraphError, match="unknown relation 'likes'"):
        model.relation_id("likes")
    assert model.relation_id("jump") == 2
    with pytest.raises(GraphError, match="out of range"):
        model.score_heads(r, torch.full_like(t, train.num_entities))


def test_make_model_rejects_unknown_names():
    with pytest.raises(GraphError, match="unknown model 'conve'"):
        make_model("conve", 10, 2)
    with pytest.raises(GraphError, match="at least one entity"):
        make_model("complex", 0, 2)
