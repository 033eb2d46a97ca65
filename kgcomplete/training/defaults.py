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
    "common_neighbours": {},
    "adamic_adar": {},
    "path_rules": {},
}


def default_settings(train: KGraph, model: str = "default") -> dict[str, Any]:
    """``fit`` keyword arguments for ``model`` on ``train``, scaled to the graph's size.

    ``"default"`` is ComplEx. Graphs up to 1,000 entities get 500 complex dimensions;
    up to 10,000 get 256 and batches of 1,024; larger ones 200 dimensions (64 for the
    GNNs), strong N3, sampled 1-N over 4,096 candidates and a time budget
    (``max_seconds``) of one hour. Every value can be overridden.
    """
    name = "complex" if model == "default" else model.lower()
    if name not in MODELS:
        raise ConfigError(f"unknown model {model!r}: choose default or one of {', '.join(MODELS)}")
    out: dict[str, Any] = dict(model=name, epochs=100, batch_size=256, patience=3, eval_every=5)
    out.update(MODEL_SETTINGS[name])
    n = train.num_entities
    if name in ("complex", "distmult", "rotate", "rgcn", "vgae", "argva") and n > 1000:
        out.update(epochs=30, eval_every=2, patience=2, batch_size=1024)
        out["dim"] = 256 if n <= 10_000 else 200
        if n > 10_000:
            out.update(reg_weight=0.1 if name in ("complex", "distmult") else out.get("reg_weight", 0.0),
                       eval_every=1, max_seconds=3600.0, candidates=4096)
            if name in ("rgcn", "vgae", "argva"):
                out["dim"] = 64
    return out
