"""The node generator learns a planted hub-and-spoke graph: it recovers a missing hub from
one of its spokes, its loss falls, near-duplicates are filtered, K-shot ranking works."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.generator import primary_labels
from kgcomplete.proposals.entities import (
    DUPLICATE_JACCARD,
    Candidate,
    decode,
    filter_novel,
    jaccard,
    pick_distinct,
    propose_entities,
    relationship_sets,
    sets_matrix,
    typicality,
)
from kgcomplete.training.generator import fit_generator

GROUPS, SPOKES = 12, 5
RELATIONS = ["member_of", "likes", "located_in", "lives_in"]


def hub_graph(groups: int = GROUPS, spokes: int = SPOKES, missing: int | None = GROUPS - 1) -> KGraph:
    """Each group: a hub, ``spokes`` spokes that are ``member_of`` the hub and ``like`` the
    group's topic, and live in one of two places; hubs are ``located_in`` a region. The
    hub of group ``missing`` is absent (its spokes still share their pattern)."""
    rows, labels = [], {}
    for g in range(groups):
        labels[f"topic{g}"] = "Topic"
        hub = f"hub{g}"
        if g != missing:
            labels[hub] = "Hub"
            rows.append((hub, "located_in", f"region{g % 2}"))
            labels[f"region{g % 2}"] = "Region"
        for i in range(spokes):
            s = f"s{g}_{i}"
            labels[s] = "Spoke"
            labels[f"place{i % 2}"] = "Place"
            rows += [(s, "likes", f"topic{g}"), (s, "lives_in", f"place{i % 2}")]
            if g != missing:
                rows.append((s, "member_of", hub))
    names = sorted(set(labels.values()))
    g = KGraph.from_labeled_triples(rows, relations=RELATIONS)
    mat = np.array([[labels[e] == n for n in names] for e in g.entities])
    return KGraph(entities=g.entities, relations=g.relations, triples=g.triples, labels=names, entity_labels=mat)


@pytest.fixture(scope="module")
def trained():
    graph = hub_graph()
    return graph, fit_generator(graph, epochs=150, mask_fraction=0.1, seed=0, progress=False, threads=1)


def test_loss_is_finite_and_decreases(trained):
    _, fit = trained
    losses = [h["loss"] for h in fit.history]
    assert all(math.isfinite(x) for x in losses)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    edges = [h["edges"] for h in fit.history]  # reconstruction of the masked entities' edges
    assert np.mean(edges[-10:]) < 0.75 * np.mean(edges[:10])
    assert fit.history[0]["beta"] == 0.0 and fit.history[-1]["beta"] == pytest.approx(0.1), "KL annealed 0 -> 0.1"
    assert all(math.isfinite(h["kl"]) and h["kl"] >= 0 for h in fit.history)


def test_anchored_generation_recovers_the_missing_hub(trained):
    graph, fit = trained
    spokes = {f"s{GROUPS - 1}_{i}" for i in range(SPOKES)}
    props = propose_entities(fit.model, graph, anchors=[f"s{GROUPS - 1}_0"], count=3, min_probability=0.25)
    assert props, "no proposal for the anchor"
    best = props[0]
    assert best.label == "Hub" and best.anchor == f"s{GROUPS - 1}_0"
    members = {r.neighbour for r in best.relations if r.relation == "member_of" and r.direction == "in"}
    assert len(members & spokes) >= SPOKES - 1, best.relations  # one spoke told it about the others
    assert len(members - spokes) <= 1, "members of other groups"
    assert all(0 <= r.probability <= 1 for r in best.relations)
    assert [r.probability for r in best.relations] == sorted((r.probability for r in best.relations), reverse=True)
    assert 0 < best.probability <= 1 and best.novelty > 0.5 and best.support >= 1
    assert 1 <= len(best.evidence) <= 3 and any("Hub" in e for e in best.evidence)


def test_free_generation_decodes_coherent_entities_and_drops_copies(trained):
    graph, fit = trained
    raw = propose_entities(fit.model, graph, count=5, min_probability=0.3, min_novelty=0.0, seed=1)
    assert raw and all(p.label in graph.labels and p.relations and p.anchor is None for p in raw)
    for p in raw:  # a sampled spoke is a member of the hub of the topic it likes
        out = {r.relation: r.neighbour for r in p.relations if r.direction == "out"}
        if "member_of" in out and "likes" in out:
            assert out["member_of"][3:] == out["likes"][5:], p.relations
    novel = propose_entities(fit.model, graph, count=5, min_probability=0.3, seed=1)
    assert any(p.novelty <= 0.5 for p in raw), "free samples copy existing spokes"
    assert all(p.novelty > 0.5 for p in novel) and len(novel) == 5, "copies are dropped, novel ones decoded instead"
    hubs = propose_entities(fit.model, graph, count=3, label="Hub", min_probability=0.3, min_novelty=0.0)
    assert hubs and all(p.label == "Hub" for p in hubs)
    with pytest.raises(GraphError, match="unknown anchor 'nobody'"):
        propose_entities(fit.model, graph, anchors=["nobody"])
    with pytest.raises(GraphError, match="unknown label 'Planet'"):
        propose_entities(fit.model, graph, label="Planet")


def test_free_generation_keeps_the_labels_proportions(trained):
    graph, fit = trained
    quotas = fit.model.mixture_.quotas(20)
    assert sum(quotas.values()) == 20 and quotas[graph.labels.index("Spoke")] == 14, "60 of 87 entities are spokes"
    # spokes of one group differ in one place of four (Jaccard 1/2: duplicates), so there are
    # about two distinct spokes a group: at 10 proposals the quotas are met
    quotas = fit.model.mixture_.quotas(10)
    props = propose_entities(fit.model, graph, count=10, min_probability=0.3, min_novelty=0.0, seed=0)
    counts = {lab: sum(p.label == lab for p in props) for lab in graph.labels}
    assert counts == {lab: quotas.get(i, 0) for i, lab in enumerate(graph.labels)}, (counts, quotas)
    # a spoke set has at most 4 keys, so a group holds few sets that are not duplicates of
    # each other: 60 proposals ask for more spokes (41) than can be distinct
    quotas = {graph.labels[i]: q for i, q in fit.model.mixture_.quotas(60).items()}
    many = propose_entities(fit.model, graph, count=60, min_probability=0.3, min_novelty=0.0, seed=0)
    counts = {lab: sum(p.label == lab for p in many) for lab in graph.labels}
    assert counts["Spoke"] < quotas["Spoke"], (counts, quotas)
    assert any(counts[lab] > quotas.get(lab, 0) for lab in graph.labels), \
        "the labels short of distinct proposals leave their places to others"
    assert [p.probability for p in props] == sorted((p.probability for p in props), reverse=True)


def test_decode_keeps_each_codes_most_likely_relationships_whatever_the_chunk(trained):
    graph, fit = trained
    z, _ = fit.model.mixture_.sample(40, None, torch.Generator().manual_seed(0))
    one = decode(fit.model, z, min_probability=0.5, max_relations=2, chunk=7)
    with torch.no_grad():
        probs = fit.model.edge_probabilities(z).flatten(1)
        labels = fit.model.label_logits(z).argmax(1)
    for row, c in enumerate(one):
        top = probs[row].topk(2)
        kept = top.values >= 0.5
        assert c.keys.tolist() == top.indices[kept].tolist() and c.label == int(labels[row])
        assert np.allclose(c.probabilities, top.values[kept].numpy())
    sure = (probs >= 0.5).sum(1)
    assert bool((sure < 2).any()) and bool((sure > 2).any()), "the threshold and the cap both bite"
    other = decode(fit.model, z, min_probability=0.5, max_relations=2, chunk=64)
    assert [c.keys.tolist() for c in other] == [c.keys.tolist() for c in one]


def test_typicality_credits_the_likeness_of_common_entities_of_its_label_one_to_one():
    width = 100
    common = [np.array([1, 2, 3, 10 + i]) for i in range(20)]  # label 0: a shared core and one key of their own
    rare = [np.array([50, 51, 60 + i]) for i in range(5)]      # label 1
    existing = sets_matrix(common + rare, width)
    entity_labels = np.array([0] * 20 + [1] * 5)
    sets = sets_matrix([np.array([1, 2, 3, 99]), np.array([1, 2, 3, 99]), np.array([70, 71]),
                        np.array([50, 51, 98])], width)
    labels = np.array([0, 1, 0, 1])
    score = typicality(sets, labels, existing, entity_labels, count=5, seed=0)
    assert score[0] > score[3] > 0.0, "a likeness of the common kind first, then of the rare one"
    assert score[1] == 0.0 and score[2] == 0.0, "the same set under another label, and a set like no entity"
    assert score[0] == pytest.approx(0.75)  # F1 2*3/8 with every label-0 entity, and one is drawn every time
    one = typicality(sets_matrix([np.array([1, 2, 3, 99]), np.array([1, 2, 3, 98])], width), np.array([0, 0]),
                     existing, entity_labels, count=1, seed=0)
    assert one.sum() <= 0.75 + 1e-9, "one entity drawn a time is matched to one candidate, not to both"


def test_pick_distinct_follows_the_scores_it_is_given():
    cands = [Candidate(label=0, label_probability=1.0, keys=np.array(k), probabilities=np.array(p))
             for k, p in (([1, 2], [0.9, 0.9]), ([5, 6], [0.2, 0.2]))]
    assert pick_distinct([dataclasses.replace(c) for c in cands], 10, 1)[0].keys.tolist() == [1, 2]
    chosen = pick_distinct([dataclasses.replace(c) for c in cands], 10, 1, scores=np.array([0.1, 0.5]))
    assert chosen[0].keys.tolist() == [5, 6], "the higher score first, not the more probable"


def test_copies_are_filtered_and_duplicates_among_candidates_shed_or_are_left_out():
    graph = hub_graph()
    n, width = graph.num_entities, 2 * graph.num_relations * graph.num_entities
    existing = relationship_sets(graph)
    idx = graph.entity_index()
    copy = existing[idx["s0_0"]].indices.astype(np.int64)  # exactly an existing spoke
    new = np.array([0 * n + idx["hub1"], 1 * n + idx["topic3"], 2 * n + idx["region0"]])  # a mix nobody has
    other = np.array([0 * n + idx["hub2"], 1 * n + idx["topic4"]])
    probs = np.array([0.6, 0.8, 0.9])
    cands = [Candidate(label=lab, label_probability=p, keys=k.copy(), probabilities=probs[-len(k):].copy())
             for lab, p, k in ((0, 0.9, copy), (1, 0.9, new[:2]), (0, 0.5, new), (0, 0.4, new), (0, 0.3, other))]
    novel = filter_novel(cands, existing, width, min_novelty=0.5)
    assert len(novel) == 4 and novel[1].novelty == pytest.approx(1.0 - 1 / 5)  # shares one key with a spoke
    kept = pick_distinct([dataclasses.replace(c) for c in novel], width, 4, existing=existing)
    sets = [set(c.keys.tolist()) for c in kept]
    assert sets[0] == set(new[:2].tolist()) and kept[0].support == 1
    assert sets[1] == set(new[1:].tolist()), "the first 'new' shed its least probable shared key (hub1)"
    assert kept[1].support == 2, "the second 'new' sheds hub1 too, is still its duplicate: left out, counted"
    assert sets[2] == set(other.tolist()) and len(kept) == 3
    full = pick_distinct([dataclasses.replace(c) for c in novel], width, 1)
    assert full[0].support == 3, "full at once: the two later 'new' duplicate it and count, 'other' does not"
    assert len(pick_distinct([dataclasses.replace(c) for c in novel], width, 3, taken=[other])) == 2


def test_no_two_proposals_of_one_call_are_duplicates(trained):
    graph, fit = trained
    width = 2 * graph.num_relations * graph.num_entities
    for kw in (dict(count=12, min_novelty=0.0), dict(count=12), dict(anchors=["s0_0", "s0_1", "hub3"], count=3,
                                                                      min_probability=0.25)):
        props = propose_entities(fit.model, graph, min_probability=0.3, seed=2, **kw) if "anchors" not in kw else \
            propose_entities(fit.model, graph, seed=2, **kw)
        index, R = graph.entity_index(), graph.num_relations
        sets = sets_matrix([np.array([(graph.relations.index(r.relation) + (0 if r.direction == "out" else R)) * graph.num_entities
                                      + index[r.neighbour] for r in p.relations]) for p in props], width)
        sim = jaccard(sets, sets)
        np.fill_diagonal(sim, 0.0)
        assert props and sim.max() < DUPLICATE_JACCARD, kw
    free = propose_entities(fit.model, graph, count=12, min_probability=0.3, min_novelty=0.0, seed=2)
    assert len(free) == 12, "more codes are decoded until the count is met"
    assert sum(p.support for p in free) > len(free), "the duplicates left out count as support"


def test_primary_label_is_the_most_common_one():
    g = KGraph(entities=["a", "b", "c"], relations=["r"], triples=[[0, 0, 1]], labels=["Person", "Actor"],
               entity_labels=[[True, True], [True, False], [False, False]])
    assert primary_labels(g).tolist() == [0, 0, -1]


def test_generator_refuses_an_empty_graph():
    with pytest.raises(GraphError, match="needs a graph with triples"):
        fit_generator(KGraph(entities=["a", "b", "c"], relations=["r"], triples=np.zeros((0, 3))), progress=False)


def test_adversarial_variant_trains(trained):
    graph, _ = trained
    fit = fit_generator(graph, epochs=3, mask_fraction=0.1, adversarial=True, seed=0, progress=False, threads=1)
    assert fit.model.discriminator is not None
    assert all(math.isfinite(h["loss"]) for h in fit.history)
    torch.testing.assert_close(fit.model.mixture_.weight.sum(), torch.tensor(float(graph.num_entities)))


def test_a_trained_link_predictor_is_shared_and_kept_frozen():
    from kgcomplete.training.fit import fit

    graph = hub_graph()
    link = fit("complex", graph, None, epochs=5, dim=16, progress=False).model
    before = link.relation.weight.detach().clone()
    fit_ = fit_generator(graph, link_model=link, epochs=3, mask_fraction=0.1, seed=0, progress=False, threads=1)
    assert fit_.model.link is link and fit_.model.width == 32
    assert torch.equal(link.relation.weight, before), "the shared relation embeddings stay as trained"
    assert all(math.isfinite(h["loss"]) for h in fit_.history)
    with pytest.raises(GraphError, match="link_model was trained on"):
        fit_generator(hub_graph(groups=3), link_model=link, epochs=1, progress=False)


def test_training_is_sized_to_the_graph_and_stops_early():
    graph = hub_graph()
    fit = fit_generator(graph, epochs=300, seed=0, progress=False, threads=1)
    assert fit.stop_reason == "early_stopping" and fit.epochs < 300, (fit.stop_reason, fit.epochs)
    assert fit.model.context_in is not None and fit.model.message.bases.shape[1] == 64, "a small graph: hidden 64"
    valid = [h["valid"] for h in fit.history if "valid" in h]
    assert valid and all(h["beta"] == pytest.approx(0.1) for h in fit.history if "valid" in h), "validated once annealed"
    assert fit.best_epoch == fit.history[int(np.argmax(valid)) + len(fit.history) - len(valid)]["epoch"]
    assert all(h["kl_weighted"] == pytest.approx(h["beta"] * h["kl"]) for h in fit.history)
