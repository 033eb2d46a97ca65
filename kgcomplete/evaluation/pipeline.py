"""One call: train a link predictor on a dataset and report filtered test metrics.

:func:`pipeline` reads a bundled benchmark by name or a dataset folder by path, trains
the default (or a named) model with early stopping on ``valid``, ranks ``test`` against
every entity (filtered by train, valid and test) and returns a :class:`PipelineResult`.
The defaults need no options (:func:`~kgcomplete.training.defaults.default_settings`);
``kgcomplete evaluate`` is a thin wrapper.

Example:
    >>> result = pipeline("umls", epochs=5, progress=False)            # doctest: +SKIP
    >>> round(result.mrr, 2), result.stop_reason                        # doctest: +SKIP
    (0.9, 'max_epochs')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kgcomplete import datasets
from kgcomplete.datasets import Dataset
from kgcomplete.errors import ConfigError, GraphError
from kgcomplete.evaluation.ranking import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import FitResult, fit

#: Keys of :meth:`PipelineResult.as_dict`, in order (``kgcomplete evaluate --json``).
RESULT_KEYS = ("dataset", "model", "mrr", "hits_at_1", "hits_at_3", "hits_at_10", "epochs", "best_epoch",
               "valid_mrr", "stop_reason", "train_seconds", "eval_seconds", "threads", "settings")


@dataclass
class PipelineResult:
    """What :func:`pipeline` returns.

    Attributes:
        dataset, model: the dataset's and the model's names.
        metrics: filtered test metrics (``mrr``, ``hits_at_1/3/10``, ``per_relation`` ...).
        fit: the :class:`~kgcomplete.training.fit.FitResult` (the trained model is
            ``fit.model``; its history the training curve).
        settings: every ``fit`` and model setting used.
        eval_seconds: time to rank the test split.
    """

    dataset: str
    model: str
    metrics: dict[str, Any]
    fit: FitResult
    settings: dict[str, Any] = field(default_factory=dict)
    eval_seconds: float = 0.0

    @property
    def mrr(self) -> float:
        return float(self.metrics["mrr"])

    @property
    def stop_reason(self) -> str:
        return self.fit.stop_reason

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values (keys :data:`RESULT_KEYS`)."""
        values = {"dataset": self.dataset, "model": self.model, "epochs": self.fit.epochs,
                  "best_epoch": self.fit.best_epoch, "valid_mrr": self.fit.best_valid_mrr,
                  "stop_reason": self.fit.stop_reason, "train_seconds": round(self.fit.seconds, 3),
                  "eval_seconds": round(self.eval_seconds, 3), "threads": self.fit.threads,
                  "settings": {k: v for k, v in self.settings.items() if isinstance(v, (int, float, str, bool))},
                  **{k: self.metrics[k] for k in ("mrr", "hits_at_1", "hits_at_3", "hits_at_10")}}
        return {k: values[k] for k in RESULT_KEYS}

    def describe(self) -> str:
        """One line for a terminal."""
        m = self.metrics
        return (f"{self.dataset} / {self.model}: MRR {m['mrr']:.3f}, Hits@1 {m['hits_at_1']:.3f}, "
                f"Hits@3 {m['hits_at_3']:.3f}, Hits@10 {m['hits_at_10']:.3f} ({self.fit.epochs} epochs, best "
                f"{self.fit.best_epoch}, {self.fit.seconds:.0f} s training; stopped: {self.fit.stop_reason})")


def pipeline(dataset: str | Path | Dataset, model: str = "default", *, epochs: int | None = None,
             max_seconds: float | None = None, seed: int = 0, threads: int | None = None, progress: bool = True,
             echo: Callable[[str], None] | None = None, **overrides: Any) -> PipelineResult:
    """Train on ``train`` (early stopping on ``valid``), then rank ``test``.

    Args:
        dataset: a bundled name (``"umls"``), a dataset folder, or a loaded
            :class:`~kgcomplete.datasets.Dataset`.
        model: ``"default"`` or a name from :data:`kgcomplete.models.MODELS`.
            (default: :obj:`"default"`)
        epochs: maximum epochs. (default: sized to the graph)
        max_seconds: training time budget; training ends after the epoch that passes it.
            (default: sized to the graph: none below 10,000 entities, an hour above)
        seed: random seed. (default: :obj:`0`)
        threads: torch threads. (default: ``OMP_NUM_THREADS``, else every core)
        progress: progress bars (on stderr). (default: :obj:`True`)
        echo: called with one line naming the chosen settings before training.
        **overrides: any other ``fit`` or model argument (``dim``, ``lr``, ``batch_size`` ...).

    An inductive split (a folder with ``train-graph/`` and ``test-graph/``) goes to
    :func:`inductive_pipeline`.

    Raises:
        GraphError: empty train or test split.
        ConfigError: an unknown model.
        InputFileError: the dataset cannot be read; an unknown name lists the bundled ones.
    """
    if not isinstance(dataset, Dataset) and datasets.is_inductive(dataset):
        return inductive_pipeline(dataset, model, epochs=epochs, max_seconds=max_seconds, seed=seed, threads=threads,
                                  progress=progress, echo=echo, **overrides)
    ds = dataset if isinstance(dataset, Dataset) else datasets.load(dataset)
    if ds.test.num_triples == 0:
        raise GraphError(f"dataset {ds.name!r}: the test split is empty (no test.tsv triples): nothing to evaluate")
    settings = default_settings(ds.train, model)
    settings.update({k: v for k, v in (("epochs", epochs), ("max_seconds", max_seconds)) if v is not None})
    settings.update(overrides)
    name = settings.pop("model")
    if echo is not None:
        echo(f"training {name} on {ds.name} ({ds.train.summary()}): "
             + ", ".join(f"{k} {v}" for k, v in sorted(settings.items())))
    valid = ds.valid if ds.valid.num_triples else None
    result = fit(name, ds.train, valid, seed=seed, threads=threads, progress=progress, **settings)
    start = time.perf_counter()
    metrics = evaluate(result.model, ds.test, known=ds.all_triples())
    return PipelineResult(dataset=ds.name, model=name, metrics=metrics, fit=result, settings=settings,
                          eval_seconds=time.perf_counter() - start)


def inductive_pipeline(folder: str | Path, model: str = "nbfnet", *, epochs: int | None = None,
                       max_seconds: float | None = None, seed: int = 0, threads: int | None = None,
                       progress: bool = True, echo: Callable[[str], None] | None = None,
                       **overrides: Any) -> PipelineResult:
    """Train on an inductive split's training graph (early stopping on its ``valid``), then
    read its test graph (its ``train.tsv``) and rank the test graph's ``test`` against all of
    the test graph's entities, filtered by its train, valid and test.

    Only models that score entities they never saw (``inductive = True``: ``nbfnet``) can;
    ``"default"`` means ``nbfnet`` here.

    Raises:
        ConfigError: a model that keeps one vector per entity.
    """
    train_ds, test_ds = datasets.load_inductive(folder)
    name = "nbfnet" if model == "default" else model.lower()
    if name not in MODELS:
        raise ConfigError(f"unknown model {model!r}: choose default or one of {', '.join(MODELS)}")
    if not getattr(MODELS[name], "inductive", False):
        able = ", ".join(k for k, v in MODELS.items() if getattr(v, "inductive", False))
        raise ConfigError(f"model {name!r} keeps one vector per training entity and cannot score the new entities "
                          f"of an inductive split: use {able}")
    settings = default_settings(train_ds.train, name)
    settings.update({k: v for k, v in (("epochs", epochs), ("max_seconds", max_seconds)) if v is not None})
    settings.update(overrides)
    settings.pop("model")
    if echo is not None:
        echo(f"training {name} on {train_ds.name}/train-graph ({train_ds.train.summary()}), testing on the test graph "
             f"({test_ds.train.summary()}): " + ", ".join(f"{k} {v}" for k, v in sorted(settings.items())))
    valid = train_ds.valid if train_ds.valid.num_triples else None
    result = fit(name, train_ds.train, valid, seed=seed, threads=threads, progress=progress, **settings)
    start = time.perf_counter()
    trained = result.model
    relations = list(trained.relations or train_ds.train.relations)
    known_types = set(relations)

    def in_model_terms(graph: KGraph) -> KGraph:
        rows = [row for row in graph.labeled_triples() if row[1] in known_types]
        return KGraph.from_labeled_triples(rows, entities=test_ds.train.entities, relations=relations)

    queries = in_model_terms(test_ds.test)
    if queries.num_triples == 0:
        raise GraphError(f"dataset {test_ds.name!r}: the test graph has no test triples of a relationship type "
                         f"the model knows: nothing to evaluate")
    trained.use_graph(test_ds.train)
    metrics = evaluate(trained, queries, known=[in_model_terms(test_ds.train), in_model_terms(test_ds.valid), queries])
    return PipelineResult(dataset=test_ds.name, model=name, metrics=metrics, fit=result, settings=settings,
                          eval_seconds=time.perf_counter() - start)
