"""fit: seeds, early stopping with best-checkpoint restore, hard negatives; save/load round
trip; pipeline(); bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planted import planted_graph

from kgcomplete.errors import ConfigError, GraphError, InputFileError
from kgcomplete.evaluation.pipeline import RESULT_KEYS, pipeline
from kgcomplete.evaluation.ranking import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS
from kgcomplete.training.checkpoints import load_model, save_model
from kgcomplete.training.fit import fit

SMALL = {"rgcn": dict(dim=8), "vgae": dict(dim=8), "argva": dict(dim=8)}


@pytest.fixture(scope="module")
def planted():
    return planted_graph()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_round_trip_gives_identical_scores(name, planted, tmp_path):
    train, _ = planted
    model = fit(name, train, None, epochs=2, progress=False, **SMALL.get(name, {"dim": 8} if name in
                                                                        ("distmult", "complex", "rotate", "transe") else {})).model
    path = save_model(tmp_path / f"{name}.pt", model, train)
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.entities == train.entities and loaded.relations == train.relations
    h, r = torch.arange(10), torch.tensor([0, 1, 2, 3] * 2 + [0, 1])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.score_tails(h, r), loaded.score_tails(h, r))
        assert torch.equal(model.score_heads(r, h), loaded.score_heads(r, h))
    # the file is plain tensors and lists: it loads with weights_only=True
    assert torch.load(path, weights_only=True)["relations"] == train.relations


def test_load_model_rejects_other_files(tmp_path):
    bad = tmp_path / "not-a-model.pt"
    bad.write_bytes(b"hello")
    with pytest.raises(InputFileError, match="not a kgcomplete model"):
        load_model(bad)
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(InputFileError, match="not a kgcomplete model"):
        load_model(tmp_path / "other.pt")


def test_same_seed_same_model_other_seed_other_model(planted):
    train, _ = planted
    a = fit("complex", train, None, epochs=3, dim=8, seed=1, progress=False).model
    b = fit("complex", train, None, epochs=3, dim=8, seed=1, progress=False).model
    c = fit("complex", train, None, epochs=3, dim=8, seed=2, progress=False).model
    assert torch.equal(a.entity.weight, b.entity.weight)
    assert not torch.equal(a.entity.weight, c.entity.weight)


def test_early_stopping_restores_the_best_checkpoint(planted):
    train, test = planted
    # a large learning rate makes validation MRR wobble, so the best epoch is not the last
    result = fit("complex", train, test, epochs=30, dim=16, lr=1.0, eval_every=1, patience=3, progress=False)
    evaluated = [h for h in result.history if "valid_mrr" in h]
    best = max(evaluated, key=lambda h: h["valid_mrr"])
    assert result.best_epoch == best["epoch"] and result.best_valid_mrr == best["valid_mrr"]
    restored = evaluate(result.model, test, known=[train, test], per_relation=False)["mrr"]
    assert restored == pytest.approx(best["valid_mrr"])
    # stopped after `patience` validations without improvement (or ran out of epochs)
    assert result.epochs == 30 or result.epochs - result.best_epoch == 3
    assert all(h["loss"] > 0 for h in result.history) and result.seconds > 0


def test_should_stop_ends_training_after_the_epoch_in_flight(planted):
    train, test = planted
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 3

    result = fit("complex", train, test, epochs=50, dim=8, eval_every=1, patience=50, should_stop=stop,
                 progress=False)
    assert result.stopped and result.epochs == 3 and len(result.history) == 3
    assert result.best_valid_mrr == max(h["valid_mrr"] for h in result.history)
    assert not fit("complex", train, test, epochs=4, dim=8, progress=False).stopped


def test_hard_negatives_push_their_scores_down(planted):
    train, _ = planted
    # reject the planted 'next' edge of entity i to i+1 for ten entities... as if an
    # analyst had said so: their scores must fall relative to training without them
    rejected = np.array([(i, 0, i + 1) for i in range(10)])
    kept = train.with_triples(train.triples[~((train.triples[:, 1] == 0) & (train.triples[:, 0] < 10))])
    plain = fit("complex", kept, None, epochs=40, dim=16, progress=False).model
    pushed = fit("complex", kept, None, epochs=40, dim=16, progress=False, negatives=rejected).model
    h, r, t = (torch.as_tensor(rejected[:, i]) for i in range(3))
    with torch.no_grad():
        p_plain = torch.softmax(plain.score_tails(h, r), 1)[torch.arange(10), t]
        p_pushed = torch.softmax(pushed.score_tails(h, r), 1)[torch.arange(10), t]
    assert p_pushed.mean() < 0.5 * p_plain.mean()
    with pytest.raises(GraphError, match="hard negative"):
        fit("complex", kept, None, epochs=1, dim=8, progress=False, negatives=np.array([[0, 9, 1]]))


def test_negative_sampling_training_learns(planted):
    from planted import held_out_subset

    train, test = planted
    model = fit("complex", train, None, epochs=60, dim=32, loss="nsamp", optimizer="adam", lr=0.01,
                progress=False).model
    assert evaluate(model, held_out_subset(test, ["jump", "same_group"]), known=[train, test])["mrr"] > 0.8


def test_sampled_candidates_training_learns(planted):
    """1-N against a shared random subset of entities (for large graphs) still learns."""
    from planted import held_out_subset

    train, test = planted
    model = fit("complex", train, None, epochs=60, dim=32, candidates=8, progress=False).model
    assert evaluate(model, held_out_subset(test, ["jump", "same_group"]), known=[train, test])["mrr"] > 0.8


def test_bad_training_input_is_a_clear_error(planted):
    train, test = planted
    empty = train.with_triples(np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(GraphError, match="no triples"):
        fit("complex", empty, None, epochs=1, progress=False)
    other = KGraph.from_labeled_triples([("a", "r", "b")])
    with pytest.raises(GraphError, match="vocabulary"):
        fit("complex", train, other, epochs=1, progress=False)
    with pytest.raises(ConfigError, match="unknown loss"):
        fit("complex", train, None, epochs=1, loss="margin", progress=False)
    with pytest.raises(ConfigError, match="unknown model"):
        fit("conve", train, None, epochs=1, progress=False)


def write_dataset(folder, train: KGraph, test: KGraph) -> None:
    folder.mkdir()
    for split, g in (("train", train), ("valid", test), ("test", test)):
        (folder / f"{split}.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in g.labeled_triples()))


def test_pipeline_reports_the_cli_keys(planted, tmp_path):
    train, test = planted
    write_dataset(tmp_path / "planted", train, test)
    said: list[str] = []
    result = pipeline(tmp_path / "planted", epochs=20, progress=False, echo=said.append)
    out = result.as_dict()
    assert list(out) == list(RESULT_KEYS)
    assert out["dataset"] == "planted" and out["model"] == "complex" and out["epochs"] <= 20
    assert 0.5 < out["mrr"] <= 1 and out["hits_at_1"] <= out["hits_at_3"] <= out["hits_at_10"]
    assert out["stop_reason"] in ("max_epochs", "early_stopping") and out["settings"]["dim"] == 500
    assert out["best_epoch"] <= out["epochs"] and out["valid_mrr"] is not None
    assert len(said) == 1 and "dim 500" in said[0] and "epochs 20" in said[0]
    assert result.fit.model.num_entities == train.num_entities
    rules = pipeline(tmp_path / "planted", model="path_rules", progress=False).as_dict()
    assert rules["model"] == "path_rules" and rules["epochs"] == 0


def test_pipeline_rejects_an_empty_test_split_and_an_unknown_model(planted, tmp_path):
    train, test = planted
    write_dataset(tmp_path / "empty", train, test)
    (tmp_path / "empty" / "test.tsv").write_text("")
    with pytest.raises(GraphError, match="test split is empty"):
        pipeline(tmp_path / "empty", epochs=1, progress=False)
    (tmp_path / "empty" / "test.tsv").write_text("e0\tnext\te1\n")
    with pytest.raises(ConfigError, match="unknown model"):
        pipeline(tmp_path / "empty", model="conve", progress=False)



def test_threads_follow_the_setting_then_omp_num_threads_else_every_core(monkeypatch):
    import os

    g = KGraph.from_labeled_triples([("a", "r", "b"), ("b", "r", "c")])
    before = torch.get_num_threads()

    def used(**kw) -> int:
        return fit("complex", g, None, epochs=1, dim=4, progress=False, **kw).threads

    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert used() == 1 and torch.get_num_threads() == 1
        assert used(threads=2) == 2                      # the explicit setting wins
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert used() == os.cpu_count()
        assert used(threads=1) == 1
    finally:
        torch.set_num_threads(before)


def test_openmp_threads_sleep_at_barriers_unless_the_user_says_otherwise():
    """Importing kgcomplete before torch sets OMP_WAIT_POLICY=PASSIVE for torch's OpenMP
    (spinning threads on a busy machine cost 3x the wall time); a user's value is kept."""
    import os
    import subprocess
    import sys

    code = "import kgcomplete, os, torch; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"


def test_grouped_rows_give_the_per_triple_cross_entropy():
    """One row per distinct query with all its answers: the same loss (and so the same
    gradient) as one row per triple, label smoothing included."""
    from kgcomplete.training.fit import QueryGroups, grouped_cross_entropy
    gen = torch.Generator().manual_seed(0)
    queries = torch.stack([torch.randint(0, 6, (200,), generator=gen), torch.randint(0, 3, (200,), generator=gen),
                           torch.randint(0, 20, (200,), generator=gen)], 1)
    groups = QueryGroups(queries, 3)
    assert len(groups) == len(torch.unique(queries[:, 0] * 3 + queries[:, 1]))
    table = torch.randn(6 * 3, 20, generator=gen)
    entity, relation, row, answer = groups.batch(torch.arange(len(groups)))
    assert sorted(zip(entity[row].tolist(), relation[row].tolist(), answer.tolist())) == sorted(map(tuple, queries.tolist()))
    for smoothing in (0.0, 0.1):
        grouped = grouped_cross_entropy(table[entity * 3 + relation], row, answer, smoothing)
        per_triple = torch.nn.functional.cross_entropy(table[queries[:, 0] * 3 + queries[:, 1]], queries[:, 2],
                                                       label_smoothing=smoothing)
        assert torch.allclose(grouped, per_triple, atol=1e-6)
    # a batch of some queries holds exactly their answers
    some = torch.tensor([1, 0])
    entity, relation, row, answer = groups.batch(some)
    assert len(row) == int(groups.counts[some].sum()) and set(row.tolist()) == {0, 1}


@pytest.mark.parametrize("name", ["complex", "distmult"])
def test_n3_over_distinct_rows_equals_the_per_row_sum(name):
    model = MODELS[name](10, 4, dim=6, reg_weight=0.5)
    h, r, t = torch.tensor([0, 0, 3, 9]), torch.tensor([1, 1, 2, 1]), torch.tensor([3, 5, 3, 0])
    ent, rel = model.entity.weight, model.relation.weight
    per_row = (model._cubed_norm(ent[h]) + model._cubed_norm(rel[r]) + model._cubed_norm(ent[t])).mean()
    assert torch.allclose(model.regularization(h, r, t), 0.5 * per_row)


def test_grouped_training_learns(planted):
    from planted import held_out_subset

    train, test = planted
    model = fit("complex", train, None, epochs=40, dim=32, batch_size=16, group_answers=True, progress=False).model
    assert evaluate(model, held_out_subset(test, ["jump", "same_group"]), known=[train, test])["mrr"] > 0.8


def test_training_the_machine_cannot_hold_is_refused_before_it_starts():
    from kgcomplete.training.memory import check_training_memory, training_bytes

    g = KGraph.from_labeled_triples([(f"e{i}", "r", f"e{i + 1}") for i in range(50)])
    with pytest.raises(ConfigError, match=r"needs about .* GiB.*lower \[model\] options dim"):
        fit("complex", g, None, epochs=1, dim=10**9, progress=False)   # 8 TB of tables: refused, not allocated
    assert fit("complex", g, None, epochs=1, dim=8, progress=False).epochs == 1
    # the estimate grows with the entities and with each step's scores; sampled targets shrink it
    small, large = training_bytes(10_000, 10, 200, 1024), training_bytes(100_000, 10, 200, 1024)
    assert large > 9 * small
    assert training_bytes(10**6, 10, 200, 1024, targets=5120) < training_bytes(10**6, 10, 200, 1024) / 3
    with pytest.raises(ConfigError, match="batch_size"):
        check_training_memory("complex", 10**6, 10, 400, 1024, available=2 * 1024**3)
    assert check_training_memory("complex", 1000, 10, 400, 128, available=2 * 1024**3) > 0


def test_shared_negatives_softmax_learns(planted):
    """loss='sampled' (each answer against random entities shared by the batch, the large-graph
    default) learns the planted rules, with a sparse table as large graphs train it."""
    from planted import held_out_subset

    train, test = planted
    model = fit("complex", train, None, epochs=60, dim=32, loss="sampled", num_negatives=8, sparse=True,
                batch_size=64, progress=False).model
    assert evaluate(model, held_out_subset(test, ["jump", "same_group"]), known=[train, test])["mrr"] > 0.8


def test_sparse_entity_table_learns_and_touches_only_the_batch_rows(planted):
    """A sparse table (large graphs) learns like a dense one, and one step moves only
    the rows of the batch's entities and candidates."""
    from planted import held_out_subset

    train, test = planted
    model = fit("complex", train, None, epochs=60, dim=32, candidates=8, sparse=True, group_answers=False,
                progress=False).model
    assert model.entity.sparse
    assert evaluate(model, held_out_subset(test, ["jump", "same_group"]), known=[train, test])["mrr"] > 0.8
    fresh = MODELS["complex"](train.num_entities, train.num_relations, dim=8, sparse=True)
    before = fresh.entity.weight.detach().clone()
    one = train.with_triples(train.triples[:1])
    fit(fresh, one, None, epochs=1, candidates=2, group_answers=False, progress=False, seed=3)
    moved = torch.nonzero((fresh.entity.weight.detach() != before).any(1)).ravel()
    assert 2 <= len(moved) <= 4      # the head, the tail and at most 2 random candidates
    with pytest.raises(ConfigError, match="adagrad"):
        fit("complex", train, None, epochs=1, dim=8, sparse=True, optimizer="adam", progress=False)


def test_validation_ranks_a_fixed_sample_on_large_graphs():
    from kgcomplete.training.fit import valid_sample

    g = KGraph(entities=[str(i) for i in range(100)], relations=["r"],
               triples=np.stack([np.arange(8000) % 100, np.zeros(8000, int), (np.arange(8000) // 100) % 100], 1))
    assert len(valid_sample(g, 100)) == 5_000      # small graphs: the cap of 5,000
    big = valid_sample(g, 2_000_000)                # 2M entities: 1,000
    assert len(big) == 1_000 and np.array_equal(big, valid_sample(g, 2_000_000))
    small = g.with_triples(g.triples[:300])
    assert np.array_equal(valid_sample(small, 2_000_000), small.triples)


def test_bce_negatives_are_never_another_answer_of_the_row():
    """NBFNet's strict negatives: a row with many answers does not push them down as negatives.
    Answers score +20, the rest -20: any answer drawn as a negative would cost about 20."""
    from kgcomplete.training.fit import _grouped_bce

    logits = torch.full((2, 10), -20.0)
    logits[0, :8] = 20.0          # row 0: eight answers of ten entities
    logits[1, :10] = 20.0         # row 1: every entity an answer, so no negative at all
    row = torch.tensor([0] * 8 + [1] * 10)
    answer = torch.cat([torch.arange(8), torch.arange(10)])
    loss = _grouped_bce(logits.requires_grad_(), row, answer, 32, 0.5, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and loss.item() < 1e-3
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.all(grad[0, :8] <= 0), "no answer of row 0 is pushed down"


def test_split_rows_deal_each_answer_once_and_know_all_of_their_query():
    """``QueryGroups.split``: every (query, answer) pair lands in exactly one row, a query
    with ``n`` answers gets ``ceil(n / 4)`` rows of at most 4, and ``known`` gives each row all the
    answers of its query (so they stay out of its negatives)."""
    from kgcomplete.training.fit import QueryGroups
    gen = torch.Generator().manual_seed(0)
    queries = torch.stack([torch.randint(0, 6, (300,), generator=gen), torch.randint(0, 3, (300,), generator=gen),
                           torch.randint(0, 40, (300,), generator=gen)], 1)
    groups = QueryGroups(queries, 3)
    rows = groups.split(4, gen)
    assert len(rows) == int(((groups.counts + 3) // 4).sum()) > len(groups)
    entity, relation, row, answer = rows.batch(torch.arange(len(rows)))
    assert sorted(zip(entity[row].tolist(), relation[row].tolist(), answer.tolist())) == sorted(map(tuple, queries.tolist()))
    assert int(rows.counts.max()) == 4
    index = torch.tensor([3, 0, 7])
    _, _, row, answer = rows.batch(index)
    known_row, known_answer = rows.known(index)
    for i, q in enumerate(rows.query[index].tolist()):
        theirs = set(known_answer[known_row == i].tolist())
        assert theirs == set(groups.batch(torch.tensor([q]))[3].tolist())
        assert set(answer[row == i].tolist()) < theirs or groups.counts[q] == 1
    assert groups.split(4, gen).answers.tolist() != rows.answers.tolist()    # dealt afresh each time


def test_bce_never_draws_a_known_answer_outside_the_batch_as_a_negative():
    """With split rows, a query's other answers are no positives of the row but still no
    negatives: scored +20 they would cost about 20 each if drawn."""
    from kgcomplete.training.fit import _grouped_bce

    logits = torch.full((1, 10), -20.0)
    logits[0, :8] = 20.0
    row, answer = torch.tensor([0, 0]), torch.tensor([0, 1])          # this row's part: two answers
    known = (torch.zeros(8, dtype=torch.long), torch.arange(8))        # its query: eight
    loss = _grouped_bce(logits.requires_grad_(), row, answer, 32, 0.5, torch.Generator().manual_seed(0), known)
    assert loss.item() < 1e-3
    without = _grouped_bce(logits, row, answer, 32, 0.5, torch.Generator().manual_seed(0))
    assert without.item() > 1.0
