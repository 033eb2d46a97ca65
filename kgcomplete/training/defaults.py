"""Training settings that work without tuning: the model and its size, chosen from the graph.

Measured on the benchmark graphs (see ``benchmarks/link_prediction.py``): ComplEx with
reciprocal relations, N3 and 1-N cross-entropy, wide embeddings on small graphs, narrower
ones and larger batches as the entity count grows.

Example:
    >>> from kgcomplete.graph import KGraph
    >>> g = KGraph.from_labeled_triples([("a", "R", "b")])
    >>> default_settings(g)["dim"]
    500
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kgcomplete.errors import ConfigError
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS

# Per-model settings that work without tuning (fit arguments and model arguments together).
MODEL_SETTINGS: dict[str, dict[str, Any]] = {
    "distmult": dict(dim=500, reg_weight=0.01),
    "complex": dict(dim=500, reg_weight=0.01),
    "rotate": dict(dim=500, reg_weight=0.0),
    "transe": dict(dim=200, lr=0.5),
    "rgcn": dict(dim=200, batch_size=256),
    "vgae": dict(dim=200, batch_size=256),
    "argva": dict(dim=200, batch_size=256),
    "nbfnet": dict(dim=32, num_layers=4, top_k=100, max_degree=50, batch_size=64, epochs=30, eval_every=1, patience=3,
                   loss="bce", num_negatives=32, adversarial_temperature=0.5, answers_per_row=4),
    "common_neighbours": {},
    "adamic_adar": {},
    "path_rules": {},
}


#: Up to this many entities NBFNet propagates over the whole graph (``top_k`` 0, every edge
#: in training too, ``max_degree`` 0): a query then reaches every entity in a few hops and
#: pruning only drops evidence. Measured 2026-12-07 (one thread, test MRR, train seconds):
#: umls 0.925 in 279 s against 0.881 in 244 s pruned (top_k 100, max_degree 50); kinships,
#: whose entities have 164 edges on average, 0.900 in 890 s against 0.864 in 941 s
#: (``benchmarks/results/transductive_nbfnet_2026-12-07.json``).
NBFNET_FULL_GRAPH = 1_000

#: Below this many training triples, one batch row per triple: training takes seconds either
#: way, and on the smallest graphs it generalises better (nations: test MRR 0.823 against
#: 0.794 with grouped rows).
GROUP_ANSWERS_FROM = 5_000

#: With grouped rows, small graphs (up to 1,000 entities) take about this many steps an
#: epoch (batches of at least 128 queries): kinships 0.878 MRR in 4 CPU seconds against 0.885
#: in 11 with 128 rows; umls keeps 128 rows (0.957; 0.947 with 256).
SMALL_GRAPH_STEPS = 12


#: From this many entities up, embedding models train "large": a sparse entity table, a
#: softmax over each answer and 256 random entities shared by a batch of 4,096 (the cost of a
#: step does not grow with the graph), 64 complex dimensions, validation every epoch. Below
#: it the recipes measured on the benchmarks (wn18rr, 41k entities, keeps its own).
LARGE_GRAPH = 50_000
LARGE_SETTINGS: dict[str, Any] = dict(loss="sampled", num_negatives=256, batch_size=4096, dim=64, sparse=True,
                                      reg_weight=0.01, epochs=10, eval_every=1, patience=1, max_seconds=3600.0,
                                      group_answers=False)


def default_settings(train: KGraph, model: str = "default") -> dict[str, Any]:
    """``fit`` keyword arguments for ``model`` on ``train``, scaled to the graph's size.

    ``"default"`` is ComplEx with N3. From 5,000 training triples up, each batch row is one
    distinct ``(entity, relation)`` query with all its answers (``group_answers``: a fifth of
    the scoring of one row per triple for the same gradient per epoch), 128 rows a batch, or
    about 12 steps an epoch on graphs up to 1,000 entities.
    Graphs up to 1,000 entities get 500 complex dimensions and validation every 5 epochs;
    up to 10,000, 256 dimensions and validation every 2 epochs; larger ones 200 dimensions
    (64 for the GNNs), strong N3, sampled 1-N over 4,096 candidates and a time budget
    (``max_seconds``) of one hour. Training stops after two validations without
    improvement. NBFNet prunes its propagation only above :data:`NBFNET_FULL_GRAPH`
    entities. From :data:`LARGE_GRAPH` entities up, the embedding models take
    :data:`LARGE_SETTINGS`. Every value can be overridden.
    """
    name = "complex" if model == "default" else model.lower()
    if name not in MODELS:
        raise ConfigError(f"unknown model {model!r}: choose default or one of {', '.join(MODELS)}")
    grouped = train.num_triples >= GROUP_ANSWERS_FROM
    out: dict[str, Any] = dict(model=name, epochs=100, batch_size=128 if grouped else 256, patience=2,
                               eval_every=5, group_answers=grouped)
    n = train.num_entities
    if grouped and n <= 1000:
        out["batch_size"] = max(128, 64 * round(distinct_queries(train) / SMALL_GRAPH_STEPS / 64))
    out.update(MODEL_SETTINGS[name])
    if name == "nbfnet" and n <= NBFNET_FULL_GRAPH:
        out.update(top_k=0, max_degree=0)
    if name in ("complex", "distmult", "rotate", "rgcn", "vgae", "argva") and n > 1000:
        out.update(epochs=30, eval_every=2, batch_size=128 if grouped else 1024)
        out["dim"] = 256 if n <= 10_000 else 200
        if n > 10_000:
            out.update(reg_weight=0.1 if name in ("complex", "distmult") else out.get("reg_weight", 0.0),
                       eval_every=1, max_seconds=3600.0, candidates=4096, batch_size=1024)
            if name in ("rgcn", "vgae", "argva"):
                out["dim"] = 64
    if name in ("complex", "distmult", "rotate", "transe") and n >= LARGE_GRAPH:
        out.pop("candidates", None)
        out.update(LARGE_SETTINGS)
    return out


def distinct_queries(train: KGraph) -> int:
    """How many distinct ``(head, relation)`` and ``(tail, inverse relation)`` queries ``train`` asks."""
    t = train.triples.astype(np.int64)
    r = max(train.num_relations, 1)
    return len(np.unique(t[:, 0] * r + t[:, 1])) + len(np.unique(t[:, 2] * r + t[:, 1]))


def describe_training(model: str, options: dict[str, Any], num_entities: int) -> str:
    """One line saying how ``model`` will train with ``options`` (as :func:`default_settings`
    chose them), for the run's log.

    Example:
        >>> describe_training("complex", {"loss": "sampled", "num_negatives": 256}, 60_000)
        'training complex on 60,000 entities: softmax over each answer and 256 random entities shared by the batch'
    """
    loss = options.get("loss", "1-n")
    if loss == "sampled":
        how = f"softmax over each answer and {options.get('num_negatives', 32)} random entities shared by the batch"
    elif loss == "1-n" and options.get("candidates"):
        how = f"softmax over the batch's answers and {options['candidates']} random entities"
    elif loss == "1-n":
        how = "softmax over all entities (1-N)"
    else:
        how = f"loss {loss}"
    return f"training {model} on {num_entities:,} entities: {how}" + (", sparse entity table" if options.get("sparse") else "")
