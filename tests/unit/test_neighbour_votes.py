"""Neighbour votes: entities that share a new entity's known relationships vote for their
own neighbours; the generator fits the votes' weight and its K-shot completion uses them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_generator import hub_graph

from kgcomplete.graph import KGraph
from kgcomplete.models.neighbour_votes import VOTE_FLOOR, VOTE_WEIGHTS, fit_vote_weight, neighbour_votes
from kgcomplete.proposals.entities import relationship_sets
from kgcomplete.training.generator import fit_generator


def test_entities_sharing_a_known_relationship_vote_for_their_neighbours():
    graph = KGraph.from_labeled_triples([
        ("x1", "member_of", "club"), ("x1", "likes", "tea"),
        ("x2", "member_of", "club"), ("x2", "likes", "tea"), ("x2", "likes", "jazz"),
        ("x3", "member_of", "guild"), ("x3", "likes", "chess"), ("x3", "lives_in", "york"),
    ])
    e, r = graph.entity_index(), {name: i for i, name in enumerate(graph.relations)}
    R = graph.num_relations
    known = np.array([[0, r["member_of"], e["club"]],                        # new entity 0: a member of the club
                      [1, r["member_of"], e["club"]], [1, r["lives_in"], e["york"]]])  # 1: also lives in york
    queries = np.array([[0, r["likes"]], [1, r["likes"]], [0, r["member_of"] + R]])
    v = neighbour_votes(relationship_sets(graph), known, queries, graph.num_entities)
    assert v.shape == (3, graph.num_entities)
    # x1 and x2 are members of the club: each votes 1/2 for what it likes
    assert v[0, e["tea"]] == pytest.approx(1.0) and v[0, e["jazz"]] == pytest.approx(0.5)
    assert v[0, e["chess"]] == 0.0
    # entity 1: the mean over its two known relationships (york's only resident is x3)
    assert v[1, e["tea"]] == pytest.approx(0.5) and v[1, e["chess"]] == pytest.approx(0.5)
    # who is a member of entity 0? nobody of those sharing its membership has members
    assert float(v[2].sum()) == 0.0


def test_the_fitted_weight_follows_whether_votes_help():
    gen = torch.Generator().manual_seed(0)
    logits, targets = torch.randn(200, 30, generator=gen), torch.randint(30, (200,), generator=gen)
    helpful = torch.nn.functional.one_hot(targets, 30).float()
    misleading = torch.nn.functional.one_hot((targets + 1) % 30, 30).float()
    w = fit_vote_weight(logits, helpful, targets)
    assert w > 0 and bool(((logits + w * torch.log(helpful + VOTE_FLOOR)).argmax(1) == targets).all())
    assert w == min(v for v in VOTE_WEIGHTS if v > 0 and bool(((logits + v * torch.log(helpful + VOTE_FLOOR))
                                                              .argmax(1) == targets).all())), "the least that does"
    assert fit_vote_weight(logits, misleading, targets) == 0.0


def test_the_generator_fits_a_vote_weight_and_its_completion_adds_the_votes():
    graph = hub_graph(groups=20)
    model = fit_generator(graph, epochs=0, seed=0, progress=False, threads=1).model
    # an untrained decoder ranks at random; spokes of one hub share their topic and place
    assert float(model.vote_weight) in VOTE_WEIGHTS and float(model.vote_weight) > 0, \
        "the votes rank better than an untrained decoder"
    z, rel = torch.zeros(2, model.width), torch.tensor([0, 1])
    votes = torch.rand(2, graph.num_entities)
    torch.testing.assert_close(model.completion_logits(z, rel, votes) - model.target_logits(z, rel),
                               model.vote_weight * torch.log(votes + VOTE_FLOOR))
    torch.testing.assert_close(model.completion_logits(z, rel), model.target_logits(z, rel))
