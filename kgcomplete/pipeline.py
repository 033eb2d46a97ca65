"""One door: train the default (or a named) link predictor on a dataset folder and report
filtered test metrics. ``kgcomplete evaluate DIR`` is a thin wrapper over
:func:`evaluate_dataset`.

The defaults need no options: :func:`default_settings` picks the model and its size from
the graph, by measurement on the benchmark graphs (see ``benchmarks/link_prediction.py``):
ComplEx with reciprocal relations, N3 and 1-N cross-entropy, wide embeddings on small
graphs, narrower ones and larger batches as the entity count grows.

Example:
    >>> evaluate_dataset("../shared/datasets/umls")
    {'dataset': 'umls', 'model': 'complex', 'mrr': 0.95..., 'hits_at_1': ..., ...}
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kgcomplete.datasets import Dataset, load_dataset
from kgcomplete.errors import GraphError
from kgcomplete.evaluate import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS
from kgcomplete.train import fit

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
    up to 10,000 get 256 and batches of 1,024; larger ones 100 dimensions, strong N3 and
    a one-hour cap on training time.
    """
    name = "complex" if model == "default" else model.lower()
    if name not in MODELS:
        raise GraphError(f"unknown model {model!r}: choose default or one of {', '.join(MODELS)}")
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


def evaluate_dataset(path: str | Path, model: str = "default", epochs: int | None = None, *,
                     seed: int = 0, progress: bool = False, dataset: Dataset | None = None,
                     **overrides: Any) -> dict[str, Any]:
    """Train on ``path/train.tsv`` (early stopping on ``valid.tsv``), then report filtered
    metrics on ``test.tsv``, ranks filtered by train, valid and test.

    Args:
        path: a dataset folder (see :func:`kgcomplete.datasets.load_dataset`).
        model: ``"default"`` or a name from :data:`kgcomplete.models.MODELS`.
            (default: :obj:`"default"`)
        epochs: maximum epochs. (default: from :func:`default_settings`)
        seed: random seed. (default: :obj:`0`)
        progress: show a progress bar. (default: :obj:`False`)
        dataset: an already loaded dataset to use instead of reading ``path``.
        **overrides: any other ``fit`` or model argument (``dim``, ``lr``, ``batch_size`` ...).

    Returns:
        ``{"dataset", "model", "mrr", "hits_at_1", "hits_at_3", "hits_at_10", "epochs",
        "train_seconds", "eval_seconds"}`` plus ``"best_epoch"``, ``"valid_mrr"`` and
        ``"settings"``.

    Raises:
        GraphError: empty train or test split, unknown model.
        InputFileError: the folder or a triple file cannot be read.
    """
    ds = dataset if dataset is not None else load_dataset(path)
    settings = default_settings(ds.train, model)
    if ds.test.num_triples == 0:
        raise GraphError(f"{path}: the test split is empty (no test.tsv triples): nothing to evaluate")
    if epochs is not None:
        settings["epochs"] = int(epochs)
    settings.update(overrides)
    name = settings.pop("model")
    valid = ds.valid if ds.valid.num_triples else None
    result = fit(name, ds.train, valid, seed=seed, progress=progress, **settings)
    start = time.perf_counter()
    metrics = evaluate(result.model, ds.test, known=ds.all_triples(), per_relation=False)
    eval_seconds = time.perf_counter() - start
    return {
        "dataset": ds.name, "model": name,
        "mrr": metrics["mrr"], "hits_at_1": metrics["hits_at_1"], "hits_at_3": metrics["hits_at_3"],
        "hits_at_10": metrics["hits_at_10"], "epochs": result.epochs,
        "train_seconds": round(result.seconds, 3), "eval_seconds": round(eval_seconds, 3),
        "best_epoch": result.best_epoch, "valid_mrr": result.best_valid_mrr,
        "settings": {k: v for k, v in settings.items() if isinstance(v, (int, float, str, bool))},
    }
