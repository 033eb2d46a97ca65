"""Suggest: candidates, type constraints, exclusions, calibration and evidence."""

from __future__ import annotations

import numpy as np
import pytest
from planted import planted_graph

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models import make_model
from kgcomplete.proposals.candidates import allowed_entities
from kgcomplete.proposals.suggest import Calibrator, SuggestPolicy, suggest
from kgcomplete.training.fit import fit


@pytest.fixture(scope="module")
def trained():
    train, test = planted_graph()
    fit_train, calib = train.split(valid=0.0, test=0.15, seed=1)[0::2]
    model = fit("complex", fit_train, None, epochs=60, dim=32, progress=False, seed=0).model
    return fit_train, calib, test, model


def test_calibrator_recovers_a_logistic_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000) * 3
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.7 * x - 1.0)))).astype(float)
    c = Calibrator.fit(x, y)
    assert abs(c.a - 0.7) < 0.05 and abs(c.b + 1.0) < 0.1
    with pytest.raises(GraphError, match="both kinds"):
        Calibrator.fit(x, np.ones_like(x))


def test_calibration_is_per_relationship_type():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5000)) * 2
    sig = lambda z: 1 / (1 + np.exp(-z))
    y = np.concatenate([rng.random(5000) < sig(1.5 * x[0] - 1), rng.random(5000) < sig(0.5 * x[1] - 3)])
    types = ["A"] * 5000 + ["B"] * 5000
    c = Calibrator.fit(x.ravel(), y.astype(float), types, prior=1.0)
    pa, pb, other = c(np.full(3, 2.0), [("h", "A", "t"), ("h", "B", "t"), ("h", "C", "t")])
    assert abs(pa - sig(2.0)) < 0.05 and abs(pb - sig(-2.0)) < 0.05
    assert pb < other < pa  # an unseen type gets the shared scaling
    shared = Calibrator.fit(x.ravel(), y.astype(float), types, prior=1e7)
    qa, qb = shared(np.full(2, 2.0), [("h", "A", "t"), ("h", "B", "t")])
    assert abs(qa - qb) < 0.01  # a strong prior leaves one scaling for all types


def test_calibrator_weighs_the_rules_that_fire():
    rng = np.random.default_rng(2)
    sig = lambda z: 1 / (1 + np.exp(-z))
    x = rng.normal(size=20000)
    rules = np.where(rng.random(20000) < 0.3, 0.8, 0.0)  # a rule of confidence 0.8 fires on 30%
    y = (rng.random(20000) < sig(0.5 * x - 2 + 1.5 * -np.log1p(-rules))).astype(float)
    c = Calibrator.fit(x, y, rules=rules)
    assert c.uses_rules and abs(c.c - 1.5) < 0.15 and abs(c.a - 0.5) < 0.1
    fired, silent = c(np.zeros(2), rules=np.array([0.8, 0.0]))
    assert abs(fired - sig(-2 + 1.5 * -np.log(0.2))) < 0.05 and abs(silent - sig(-2)) < 0.02
    with pytest.raises(ValueError, match="rule scores"):
        c(np.zeros(1))  # a calibrator that weighs rules cannot silently go without them
    assert not Calibrator.fit(x, y).uses_rules


def test_suggestions_find_held_out_edges_with_calibrated_probabilities(trained):
    train, calib_split, test, model = trained
    calib = Calibrator.fit_heldout(model, train, calib_split)
    assert calib.ece is not None and 0 <= calib.ece < 0.25
    assert calib.ece_top is not None and 0 <= calib.ece_top < 0.3  # among probabilities >= 0.1
    assert set(calib.per_type) == set(train.relations)  # a scaling per relationship type
    assert calib.uses_rules and calib.per_type["jump"][2] > 0.5  # jump(X,Y) <= next(X,Z), skip(Z,Y) counts
    props = suggest(model, train, calib, SuggestPolicy(relation_types=["jump", "same_group"], top_k=3,
                                                       min_probability=0.0, max_total=40))
    assert len(props) == 40
    known = set(train.labeled_triples())
    assert not any((s.head, s.type, s.tail) in known for s in props)
    truth = set(test.labeled_triples()) | set(calib_split.labeled_triples())
    hits = [(s.head, s.type, s.tail) in truth for s in props]
    # ~60 true missing edges among ~3,000 candidates: random precision is about 2%
    assert np.mean(hits[:10]) >= 0.5 and np.mean(hits[:20]) >= 0.3, hits
    probs = [s.probability for s in props]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    jumps = [s for s in props if s.type == "jump" and (s.head, s.type, s.tail) in truth]
    assert jumps and any("jump(X,Y) <=" in e for s in jumps for e in s.evidence)
    high = suggest(model, train, calib, SuggestPolicy(relation_types=["jump"], min_probability=0.9, max_total=5))
    assert all(s.probability >= 0.9 for s in high) and len(high) <= 5


def test_calibration_without_any_held_out_edge_found_says_what_to_change(trained):
    train, calib_split, _, model = trained
    policy = SuggestPolicy(top_k=1, min_probability=0, max_total=10**6)
    top1 = {(s.head, s.type, s.tail) for s in suggest(model, train, Calibrator(), policy, explain=False)}
    missed = [i for i, t in enumerate(calib_split.labeled_triples()) if t not in top1]
    assert missed  # some held-out edges are not a top-1 candidate
    far = calib_split.with_triples(calib_split.triples[missed[:1]])
    with pytest.raises(GraphError, match=r"none of the 1 held-out edges is among the top-1 candidates"):
        Calibrator.fit_heldout(model, train, far, policy)


def test_exclusions_hold(trained):
    train, calib_split, _, model = trained
    calib = Calibrator(1.0, 0.0)
    props = suggest(model, train, calib, SuggestPolicy(relation_types=["same_group"], top_k=40, min_probability=0,
                                                       max_total=10**6))
    banned = [(s.head, s.type, s.tail) for s in props[:10]]
    again = suggest(model, train, calib, SuggestPolicy(relation_types=["same_group"], top_k=40, min_probability=0,
                                                       max_total=10**6), exclude=banned)
    assert not set(banned) & {(s.head, s.type, s.tail) for s in again}
    assert len(again) == len(props) - 10
    assert all(s.head != s.tail for s in again)


def test_type_constraints_from_the_graph_and_overrides():
    rows = [(f"p{i}", "WORKS_AT", f"c{i % 3}") for i in range(9)] + [(f"p{i}", "KNOWS", f"p{i + 1}") for i in range(8)]
    g = KGraph.from_labeled_triples(rows)
    g.labels = ["Person", "Company"]
    g.entity_labels = np.array([[k.startswith("p"), k.startswith("c")] for k in g.entities])
    model = make_model("complex", g.num_entities, g.num_relations, dim=8)  # untrained: random scores
    model.entities, model.relations = g.entities, g.relations
    props = suggest(model, g, Calibrator(), SuggestPolicy(top_k=20, min_probability=0, max_total=10**6))
    works = [s for s in props if s.type == "WORKS_AT"]
    assert works and all(s.head.startswith("p") and s.tail.startswith("c") for s in works)
    assert all(s.head.startswith("p") and s.tail.startswith("p") for s in props if s.type == "KNOWS")
    r = g.relation_index()["WORKS_AT"]
    anyone = allowed_entities(g, r, 2, ([], ["Person", "Company"]))
    assert anyone.all()
    with pytest.raises(GraphError, match="unknown label"):
        allowed_entities(g, r, 0, (["Robot"], []))
    with pytest.raises(GraphError, match="unknown relationship type"):
        suggest(model, g, Calibrator(), SuggestPolicy(relation_types=["NOPE"]))
    with pytest.raises(GraphError, match=r"cannot constrain unknown relationship type\(s\) \['NOPE'\]"):
        suggest(model, g, Calibrator(), SuggestPolicy(type_constraints={"NOPE": (["Person"], [])}))
    only = suggest(model, g, Calibrator(), SuggestPolicy(top_k=20, min_probability=0, max_total=10**6,
                                                         type_constraints={"WORKS_AT": (["Person"], ["Person"])}))
    assert any(s.type == "WORKS_AT" for s in only)
    assert all(s.tail.startswith("p") for s in only if s.type == "WORKS_AT")  # the override wins


def test_reviews_shift_the_probabilities_of_their_type():
    base = Calibrator(1.0, 0.0)
    good = [((f"h{i}", "GOOD", f"t{i}"), 0.3, i % 5 != 0) for i in range(50)]
    bad = [((f"h{i}", "BAD", f"t{i}"), 0.7, False) for i in range(50)]
    hub = [((f"h{i}", "MIXED", "usa"), 0.6, False) for i in range(30)] + \
          [((f"h{i}", "MIXED", f"x{i}"), 0.6, True) for i in range(30)]
    learned = base.with_feedback(good + bad + hub)
    p = learned(np.zeros(5), [("new", "GOOD", "new"), ("new", "BAD", "new"), ("new", "OTHER", "new"),
                              ("new", "MIXED", "usa"), ("new", "MIXED", "elsewhere")])
    assert p[0] > 0.65 and p[1] < 0.15 and p[2] == 0.5
    assert p[3] < 0.5 < p[4]  # the often-rejected tail of a mixed type is learned
    few = base.with_feedback([(("h", "BAD", "t"), 0.7, False)])
    assert 0.3 < few(np.zeros(1), [("x", "BAD", "y")])[0] < 0.5  # one review moves it a little


def test_reasons_cite_real_paths_from_head_to_tail_and_survive_the_database_format():
    from kgcomplete import datasets
    from kgcomplete.proposals.evidence import mine_rules, reasons
    from kgcomplete.records import reason_properties, reasons_from_properties

    graph = datasets.load("sample").train
    real = set(graph.labeled_triples())
    rules = mine_rules(graph)
    kinds, checked = set(), 0
    for h, r, t in [(0, 0, 3), (2, 5, 3), (4, 7, 1), (6, 11, 9), (8, 13, 5), (10, 20, 12)]:
        why = reasons(graph, rules, h, r, t)
        for reason in why:
            kinds.add(reason.kind)
            assert reason.paths and 0 < reason.confidence <= 1
            for path in reason.paths:
                assert path.nodes[0] == graph.entities[h] and path.nodes[-1] == graph.entities[t]
                assert all(step in real for step in path.steps())   # every cited relationship exists
                checked += 1
        props = reason_properties(why)
        assert all(isinstance(v, list) and not any(isinstance(x, (list, dict)) for x in v) for v in props.values())
        assert reasons_from_properties(props) == why
    assert checked > 0 and "rule" in kinds


def test_a_query_budget_is_shared_between_types_and_directions():
    from kgcomplete.proposals.candidates import split_budget

    assert split_budget([2, 10, 10], 12) == [2, 5, 5]
    assert split_budget([3, 3], 100) == [3, 3]          # more budget than anchors: everyone asked
    assert sum(split_budget([50, 7, 1000, 0], 101)) == 101


def test_least_connected_anchors_are_asked_first():
    from kgcomplete.proposals.candidates import choose_anchors

    degree = np.array([5, 1, 9, 0, 3, 3, 7])
    rng = np.random.default_rng(0)
    assert choose_anchors(np.arange(7), 3, "least_connected", degree, rng).tolist() == [1, 3, 4] or \
        choose_anchors(np.arange(7), 3, "least_connected", degree, rng).tolist() == [1, 3, 5]
    picked = choose_anchors(np.arange(7), 3, "random", degree, rng)
    assert len(set(picked.tolist())) == 3 and picked.tolist() == sorted(picked.tolist())


def test_the_budget_bounds_the_queries_scored(trained):
    from kgcomplete.proposals.blocked import BlockedTriples
    from kgcomplete.proposals.candidates import find_candidates

    train, _, _, model = trained
    known = BlockedTriples.of(train.triples, num_entities=train.num_entities, num_relations=train.num_relations)
    asked = []
    score_queries, score_candidates = model.score_queries, model.score_candidates
    model.score_queries = lambda e, r, state=None: asked.append(len(e)) or score_queries(e, r, state)
    model.score_candidates = lambda e, r, c, state=None: asked.append(len(e)) or score_candidates(e, r, c, state)
    try:
        everything = find_candidates(model, train, SuggestPolicy(top_k=3), known)
        total, asked[:] = sum(asked), []
        some = find_candidates(model, train, SuggestPolicy(top_k=3, query_budget=total // 4), known)
        assert sum(asked) == total // 4 < total
        assert 0 < len(some) < len(everything)
    finally:
        del model.score_queries, model.score_candidates
    with pytest.raises(Exception, match="anchor_policy"):
        SuggestPolicy(anchor_policy="loudest")


def test_scoring_only_type_consistent_targets_keeps_the_best_ones():
    """Few allowed targets are scored alone; the kept candidates are those of scoring every
    entity and masking the rest."""
    import torch

    from kgcomplete.proposals.blocked import BlockedTriples
    from kgcomplete.proposals.candidates import find_candidates

    rows = [(f"p{i}", "WORKS_AT", f"c{i % 3}") for i in range(20)] + [(f"p{i}", "KNOWS", f"p{i + 1}") for i in range(19)]
    g = KGraph.from_labeled_triples(rows)
    g.labels = ["Person", "Company"]
    g.entity_labels = np.array([[k.startswith("p"), k.startswith("c")] for k in g.entities])
    model = make_model("complex", g.num_entities, g.num_relations, dim=8)
    r = g.relation_index()["WORKS_AT"]
    blocked = BlockedTriples.of(g.triples, num_entities=g.num_entities, num_relations=g.num_relations)
    found = {tuple(t) for t in find_candidates(model, g, SuggestPolicy(top_k=2, relation_types=["WORKS_AT"]),
                                               blocked).triples.tolist()}
    company = np.array([e.startswith("c") for e in g.entities])
    for h in np.flatnonzero(~company):
        scores = model.score_tails(torch.tensor([h]), torch.tensor([r]))[0].detach().numpy()
        best = [int(t) for t in np.argsort(-np.where(company, scores, -np.inf)) if (h, r, int(t)) not in g.known()][:2]
        assert best and all((int(h), r, t) in found for t in best)
    assert all(company[t] and not company[h] for h, _, t in found)
