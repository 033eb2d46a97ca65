"""The node generator kept between runs: a saved generator reloads and proposes the same
entities for the same seed; on a changed graph it is warm-started row by row and fine-tuned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_generator import hub_graph

from kgcomplete.errors import InputFileError
from kgcomplete.graph import KGraph
from kgcomplete.proposals.entities import propose_entities
from kgcomplete.training.generator import fit_generator
from kgcomplete.training.generator_store import (
    WARM_FIT,
    fit_generator_warm,
    load_generator,
    save_generator,
    warm_start_generator,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    graph = hub_graph()
    fit = fit_generator(graph, epochs=60, seed=0, progress=False, threads=1)
    path = save_generator(tmp_path_factory.mktemp("gen") / "job.generator.pt", fit.model, graph)
    return graph, fit, path


def test_a_saved_generator_reloads_and_proposes_the_same_entities(saved):
    graph, fit, path = saved
    loaded, vocab = load_generator(path)
    assert vocab["entities"] == graph.entities and vocab["labels"] == graph.labels
    for kw in (dict(count=5, min_probability=0.3), dict(anchors=["s11_0"], count=2, min_probability=0.25)):
        assert propose_entities(loaded, graph, seed=3, **kw) == propose_entities(fit.model, graph, seed=3, **kw)
    torch.testing.assert_close(loaded.vote_weight, fit.model.vote_weight)
    blob = torch.load(path, weights_only=True)
    del blob["state_dict"]["vote_weight"]  # saved before the neighbour votes existed
    torch.save(blob, path.parent / "older.pt")
    assert float(load_generator(path.parent / "older.pt")[0].vote_weight) == 0.0
    with pytest.raises(InputFileError, match="not a kgcomplete generator"):
        (path.parent / "junk.pt").write_bytes(b"junk")
        load_generator(path.parent / "junk.pt")


def test_a_changed_graph_is_warm_started_row_by_row_and_fine_tuned(saved):
    graph, fit, path = saved
    rows = [(graph.entities[h], graph.relations[r], graph.entities[t]) for h, r, t in graph.triples]
    rows.append(("newcomer", "likes", "topic0"))  # one entity more, a different order of keys
    changed = KGraph.from_labeled_triples(rows[::-1], relations=graph.relations)
    labels = dict(zip(graph.entities, graph.entity_labels))
    mat = np.array([labels.get(e, graph.entity_labels[graph.entities.index("s0_0")]) for e in changed.entities])
    changed = KGraph(entities=changed.entities, relations=changed.relations, triples=changed.triples,
                     labels=graph.labels, entity_labels=mat)
    model, report = warm_start_generator(path, changed)
    assert (report.entities_kept, report.entities_added, report.entities_removed) == (graph.num_entities, 1, 0)
    assert report.fresh_parameters == ()
    old, new = graph.entities.index("hub3"), changed.entities.index("hub3")
    torch.testing.assert_close(model.link.entity.weight[new], fit.model.link.entity.weight[old])
    torch.testing.assert_close(model.context.bases, fit.model.context.bases)
    warm, _ = fit_generator_warm(path, changed, progress=False, threads=1)
    assert warm.warm_start and warm.epochs <= WARM_FIT["epochs"] and warm.history[0]["beta"] == pytest.approx(0.1)
    assert propose_entities(warm.model, changed, count=3, min_probability=0.3)
