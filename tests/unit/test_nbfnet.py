"""NBFNet: it scores entities it never saw, hides a training query's own edge, prunes to
``top_k`` and matches relationship types by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planted import planted_graph

from kgcomplete.evaluation.ranking import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.models import make_model
from kgcomplete.models.nbfnet import NBFNet
from kgcomplete.training.fit import fit


@pytest.fixture(scope="module")
def trained():
    train, test = planted_graph()
    return fit("nbfnet", train, None, epochs=30, dim=16, batch_size=32, progress=False, seed=0,
                threads=1).model, train, test


def renamed(graph: KGraph, prefix: str, perm: np.ndarray, relations: list[str] | None = None) -> KGraph:
    """The same graph with new entity keys in another order (and relationship types in
    ``relations``' order): to the model, a graph of entities it never saw."""
    rows = [(f"{prefix}{h}", graph.relations[r], f"{prefix}{t}") for h, r, t in graph.triples]
    return KGraph.from_labeled_triples(rows, entities=[f"{prefix}{i}" for i in perm], relations=relations)


def test_scores_a_graph_of_entities_it_never_saw(trained):
    model, train, test = trained
    perm = np.random.default_rng(1).permutation(train.num_entities)
    new_train = renamed(train, "new", perm, relations=list(reversed(train.relations)))
    new_test = KGraph.from_labeled_triples([(f"new{h}", test.relations[r], f"new{t}") for h, r, t in test.triples],
                                           entities=new_train.entities, relations=new_train.relations)
    before = evaluate(model, test, known=[train, test])["mrr"]
    model.use_graph(new_train)
    try:
        assert model.entities == new_train.entities and model.num_entities == new_train.num_entities
        # the model's relation indices: re-index the test triples by name
        queries = KGraph.from_labeled_triples(new_test.labeled_triples(), entities=new_train.entities,
                                              relations=train.relations)
        known = KGraph.from_labeled_triples(new_train.labeled_triples(), entities=new_train.entities,
                                            relations=train.relations)
        after = evaluate(model, queries, known=[known, queries])["mrr"]
    finally:
        model.use_graph(train)
    assert after >= 0.8 and after == pytest.approx(before, abs=0.05)


def test_a_bigger_graph_with_new_entities_is_scored_without_retraining(trained):
    model, train, test = trained
    grown = KGraph.from_labeled_triples(train.labeled_triples() + [("e0", "next", "fresh"), ("fresh", "skip", "e3")])
    model.use_graph(grown)
    try:
        with torch.no_grad():
            scores = model.score_tails(torch.tensor([grown.entity_index()["fresh"]]),
                                       torch.tensor([model.relation_id("next")]))
        assert scores.shape == (1, train.num_entities + 1) and torch.isfinite(scores).all()
    finally:
        model.use_graph(train)


def test_training_queries_do_not_see_their_own_edge():
    train, _ = planted_graph()
    model = make_model("nbfnet", train.num_entities, train.num_relations, dim=8)
    model.relations = list(train.relations)
    model.prepare(train)
    triple = torch.as_tensor(train.triples[:1])
    h, r, t = (int(x) for x in train.triples[0])
    model.hide_triples(triple)
    hidden = model._hidden.nonzero().squeeze(1)
    assert len(hidden) == 2   # the edge and its reciprocal
    edges = {(int(model.edge_src[e]), int(model.edge_type[e]), int(model.edge_dst[e])) for e in hidden}
    assert edges == {(h, r, t), (t, r + train.num_relations, h)}
    # the reciprocal query names the same edge
    model.hide_triples(torch.tensor([[t, r + train.num_relations, h]]))
    assert set(model._hidden.nonzero().squeeze(1).tolist()) == set(hidden.tolist())
    # and it changes training-mode scores only
    model.train()
    with torch.no_grad():
        seen = model.score_queries(torch.tensor([h]), torch.tensor([r]))
        model._hidden = None
        unhidden = model.score_queries(torch.tensor([h]), torch.tensor([r]))
    assert not torch.allclose(seen, unhidden)


def test_a_training_row_hides_only_its_own_answers():
    """With ``answers_per_row`` 2, a query with six answers trains in three rows, and each
    step hides the edges of two answers: the other four stay readable, as at test time."""
    rows = [("h", "r", f"a{i}") for i in range(6)] + [(f"a{i}", "s", f"a{i + 1}") for i in range(5)]
    train = KGraph.from_labeled_triples(rows)
    hidden: list[int] = []

    class Recording(NBFNet):
        def hide_triples(self, triples: torch.Tensor) -> None:
            super().hide_triples(triples)
            hidden.append(int(self._hidden.sum()) // 2)   # each triple hides an edge and its reciprocal

    model = Recording(train.num_entities, train.num_relations, dim=8, top_k=0, max_degree=0)
    fit(model, train, None, epochs=1, batch_size=1, loss="bce", answers_per_row=2, progress=False, threads=1)
    # (h, r) in 3 rows of 2; the other 16 reciprocal queries have one answer each
    assert len(hidden) == 3 + (2 * len(rows) - 6) and max(hidden) == 2
    hidden.clear()
    fit(model, train, None, epochs=1, batch_size=1, loss="bce", progress=False, threads=1)
    assert max(hidden) == 6       # one row a query hides all six answers at once


def test_pruning_keeps_top_k_entities_per_query():
    train, _ = planted_graph()
    full = make_model("nbfnet", train.num_entities, train.num_relations, dim=8, top_k=0, max_degree=0)
    full.prepare(train)
    pruned = make_model("nbfnet", train.num_entities, train.num_relations, dim=8, top_k=5, max_degree=3,
                        score_max_degree=3)
    pruned.prepare(train)
    pruned.load_state_dict(full.state_dict())
    entity, relation = torch.arange(4), torch.tensor([0, 1, 2, 3])
    full.eval(), pruned.eval()
    with torch.no_grad():
        keys_full, _, _ = full.propagate(entity, relation)
        keys_pruned, _, _ = pruned.propagate(entity, relation)
    per_query = torch.bincount(keys_pruned // train.num_entities, minlength=4)
    # after the last layer: the kept 5 (and the head) sent along at most 3 edges each
    assert int(per_query.max()) <= 6 + 6 * 3 and len(keys_pruned) < len(keys_full)
    assert isinstance(full, NBFNet) and full.hparams["top_k"] == 0


def test_nbfnet_reads_the_whole_graph_by_default_only_up_to_a_thousand_entities():
    from kgcomplete import datasets
    from kgcomplete.training.defaults import NBFNET_FULL_GRAPH, default_settings

    small, large = datasets.load("umls").train, datasets.load("codex-s").train
    assert small.num_entities <= NBFNET_FULL_GRAPH < large.num_entities
    assert (default_settings(small, "nbfnet")["top_k"], default_settings(small, "nbfnet")["max_degree"]) == (0, 0)
    assert (default_settings(large, "nbfnet")["top_k"], default_settings(large, "nbfnet")["max_degree"]) == (100, 50)


def test_training_samples_a_hubs_edges_and_scoring_reads_them_all():
    hub = KGraph.from_labeled_triples([("hub", "has", f"spoke{i}") for i in range(30)])
    model = make_model("nbfnet", hub.num_entities, hub.num_relations, dim=8, num_layers=1, top_k=0, max_degree=5)
    model.prepare(hub)
    query = (torch.tensor([hub.entity_index()["hub"]]), torch.tensor([0]))
    with torch.no_grad():
        model.train()
        sampled, _, _ = model.propagate(*query)
        model.eval()
        every, _, _ = model.propagate(*query)
    assert len(sampled) == 1 + 5, "in training the hub sends along max_degree of its edges"
    assert len(every) == 31, "scoring reaches every spoke (score_max_degree 0: all edges)"
    assert model.hparams["score_max_degree"] == 0


def write_split(folder, graph: KGraph, test: KGraph, prefix: str) -> None:
    folder.mkdir(parents=True)
    for name, rows in (("train", graph.triples), ("valid", test.triples[:5]), ("test", test.triples[5:])):
        text = "".join(f"{prefix}{h}\t{graph.relations[r]}\t{prefix}{t}\n" for h, r, t in rows)
        (folder / f"{name}.tsv").write_text(text)


def test_inductive_evaluate_trains_on_one_graph_and_ranks_another(tmp_path):
    from kgcomplete.errors import ConfigError
    from kgcomplete.evaluation.pipeline import RESULT_KEYS, pipeline

    train, test = planted_graph(seed=0)
    write_split(tmp_path / "split" / "train-graph", train, test, "old")
    other_train, other_test = planted_graph(seed=1)
    write_split(tmp_path / "split" / "test-graph", other_train, other_test, "new")
    result = pipeline(tmp_path / "split", "nbfnet", epochs=30, dim=16, batch_size=32, loss="1-n", threads=1,
                      progress=False)
    assert list(result.as_dict()) == list(RESULT_KEYS) and result.dataset == "split"
    # every ranked entity is one of the test graph's, none of the training graph's
    assert result.fit.model.entities is not None and all(e.startswith("new") for e in result.fit.model.entities)
    assert result.metrics["count"] == len(other_test.triples) - 5 and result.mrr >= 0.7
    with pytest.raises(ConfigError, match="cannot score the new entities"):
        pipeline(tmp_path / "split", "complex", epochs=1, progress=False)


def test_top_model_path_is_a_real_path_between_the_two_nodes(trained):
    from kgcomplete.proposals.evidence import model_reasons

    model, train, test = trained
    R = train.num_relations
    edges = set(map(tuple, train.triples.tolist()))
    model.eval()
    with torch.no_grad():
        heads = torch.arange(train.num_entities).repeat_interleave(R)
        rels = torch.arange(R).repeat(train.num_entities)
        scores = model.score_tails(heads, rels)
    scores[heads, heads] = float("-inf")
    for h, r, t in train.triples.tolist():   # the most probable new links, as suggestions are
        scores[h * R + r, t] = float("-inf")
    best = torch.topk(scores.flatten(), 50).indices
    explained = 0
    for flat in best.tolist():
        row, t = divmod(flat, train.num_entities)
        h, r = int(heads[row]), int(rels[row])
        paths = model.explain_paths(h, r, t)
        if not paths:
            continue
        explained += 1
        nodes, steps, weight = paths[0]
        assert nodes[0] == h and nodes[-1] == t and len(steps) == len(nodes) - 1 <= model.num_layers
        for a, p, b in zip(nodes, steps, nodes[1:]):
            assert ((a, p, b) if p < R else (b, p - R, a)) in edges, (nodes, steps)
        assert [w for *_, w in paths] == sorted((w for *_, w in paths), reverse=True)
        reason = model_reasons(train, model, h, r, t)[0]
        assert reason.kind == "model_path" and 0 <= reason.confidence <= 1
        assert reason.paths[0].nodes[0] == train.entities[h] and reason.paths[0].nodes[-1] == train.entities[t]
        assert all(step in train.labeled_triples() for step in reason.paths[0].steps())
    assert explained >= 45


def test_codex_s_suggestions_cite_real_paths_between_their_two_nodes():
    """The product's path on a real benchmark: NBFNet with its default settings, one epoch on
    the bundled codex-s (about a minute on one thread), then ``suggest`` as enrich runs it; for
    each of the 50 suggestions the top path of the model's own evidence runs from the head to
    the tail over relationships that are in the graph."""
    from kgcomplete import datasets
    from kgcomplete.proposals.suggest import Calibrator, SuggestPolicy, suggest
    from kgcomplete.training.defaults import default_settings

    train = datasets.load("codex-s").train
    settings = {k: v for k, v in default_settings(train, "nbfnet").items() if k != "model"}
    model = fit("nbfnet", train, None, **{**settings, "epochs": 1}, progress=False, threads=1).model
    policy = SuggestPolicy(query_budget=200, max_total=50, min_probability=0.0)
    out = suggest(model, train, Calibrator(), policy, model_name="nbfnet")
    assert len(out) == 50
    relationships = set(train.labeled_triples())
    for s in out:
        assert (s.head, s.type, s.tail) not in relationships
        paths = [r for r in s.reasons if r.kind == "model_path"]
        assert paths, (s.head, s.type, s.tail)
        top = paths[0].paths[0]
        assert top.nodes[0] == s.head and top.nodes[-1] == s.tail and len(top.nodes) >= 2
        assert all(step in relationships for step in top.steps()), top


def test_warm_start_carries_relation_rows_by_name():
    from kgcomplete.training.warm_start import warm_start

    train, _ = planted_graph()
    old = fit("nbfnet", train, None, epochs=1, dim=8, progress=False, threads=1).model
    reordered = KGraph.from_labeled_triples(train.labeled_triples(), relations=list(reversed(train.relations)))
    model, report = warm_start(old, reordered)
    assert report.fresh_parameters == ()
    R = train.num_relations
    for j, name in enumerate(reordered.relations):
        i = train.relations.index(name)
        for table in ("query.weight", "layers.0.relation_map", "layers.0.relation_bias"):
            new_p, old_p = dict(model.named_parameters())[table], dict(old.named_parameters())[table]
            assert torch.equal(new_p[j], old_p[i]) and torch.equal(new_p[j + R], old_p[i + R])
