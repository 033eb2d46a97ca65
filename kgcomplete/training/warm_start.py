"""Warm start: carry a trained link predictor over to a graph that changed a little.

A nightly run sees almost the same graph as the night before. :func:`warm_start` builds a
fresh model of the previous model's class and hyper-parameters for the new graph, then
copies every row it can: entity rows matched by key, relation rows matched by
relationship type (both halves of the reciprocal layout, ``r`` and ``r + R``), and every
parameter without an entity or relation axis as it is. New entities and relations keep the
model's own initialisation; removed ones are dropped. :func:`fit_warm` then fine-tunes with
frequent validation and early stopping, which is far cheaper than training from scratch.

Example:
    >>> previous = load_model("last-night.pt")                          # doctest: +SKIP
    >>> result, report = fit_warm(previous, train, valid, **options)    # doctest: +SKIP
    >>> report.summary()                                                # doctest: +SKIP
    'entities: 2010 kept, 24 added, 10 removed; relations: 42 kept, 0 added, 0 removed'
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kgcomplete.errors import GraphError, WarmStartMismatch
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.training.checkpoints import load_model
from kgcomplete.training.fit import FitResult, fit

# Parameters with one row per entity, and with one row per relation in the reciprocal
# layout of base.py (rows 0..R-1 the relations, R..2R-1 their reciprocals).
ENTITY_ROWS = ("entity.weight",)
# KGE tables; R-GCN basis coefficients; NBFNet's query vectors and per-relation maps
RELATION_ROWS = ("relation.weight", ".coefficients", "query.weight", ".relation_map", ".relation_bias")

# fit() settings that turn a cold run into a fine-tune: validate every epoch, stop after two
# validations without improvement, at most 10 epochs.
WARM_FIT: dict[str, Any] = dict(eval_every=1, patience=2, epochs=10)
# The optimiser state is not in the checkpoint, and a fresh Adagrad or Adam takes full-size
# first steps that undo part of the previous training (codex-s, ComplEx: valid MRR 0.386
# fell to 0.354 after one epoch at the cold learning rate 0.1, to 0.385 at 0.03), so the
# fine-tune runs at this share of the cold learning rate.
WARM_LR_SCALE = 0.3


@dataclass(frozen=True)
class WarmStartReport:
    """What :func:`warm_start` carried over, for the run log.

    Attributes:
        entities_kept, entities_added, entities_removed: entity keys in both graphs, only
            in the new one (fresh rows), only in the previous one (rows dropped).
        relations_kept, relations_added, relations_removed: the same for relationship types.
        fresh_parameters: parameters left at their initial values because their shape
            changed for another reason (e.g. the node-feature map of a GNN when the
            graph's feature columns changed).
    """

    entities_kept: int
    entities_added: int
    entities_removed: int
    relations_kept: int
    relations_added: int
    relations_removed: int
    fresh_parameters: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the log."""
        line = (f"entities: {self.entities_kept} kept, {self.entities_added} added, {self.entities_removed} removed; "
                f"relations: {self.relations_kept} kept, {self.relations_added} added, "
                f"{self.relations_removed} removed")
        return line + (f"; re-initialised: {', '.join(self.fresh_parameters)}" if self.fresh_parameters else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def match_keys(old: list[str], new: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the keys present in both lists: ``(old_rows, new_rows)``, each
    ``shape: (k,), dtype: int64``, with ``old[old_rows[i]] == new[new_rows[i]]``."""
    where = {k: i for i, k in enumerate(old)}
    pairs = [(where[k], j) for j, k in enumerate(new) if k in where]
    rows = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def warm_start(previous: LinkPredictor | str | Path, graph: KGraph, *, seed: int = 0
               ) -> tuple[LinkPredictor, WarmStartReport]:
    """A model for ``graph`` initialised from ``previous`` wherever the vocabularies agree.

    Args:
        previous: a trained model with its vocabulary (from :func:`~kgcomplete.training.fit.fit`
            or :func:`~kgcomplete.training.fit.load_model`), or the path of a saved one.
        graph: the new training graph; its entity keys and relationship types are matched
            against ``previous.entities`` / ``previous.relations``.
        seed: seeds the initialisation of the rows of new entities and relations.
            (default: :obj:`0`)

    Returns:
        ``(model, report)``: a model of the same class and hyper-parameters with
        ``graph.num_entities`` entity rows and ``2 * graph.num_relations`` relation rows,
        ``model.entities`` / ``model.relations`` set to ``graph``'s; graph-dependent buffers
        (edges, node features) are filled by :meth:`~LinkPredictor.prepare` when it is
        fitted.

    Raises:
        GraphError: ``previous`` has no vocabulary, or ``graph`` is empty.
    """
    if not isinstance(previous, LinkPredictor):
        previous = load_model(previous)
    if previous.entities is None or previous.relations is None:
        raise GraphError("warm start needs the previous model's entity keys and relation names: "
                         "use a model from fit() or load_model()")
    hparams = dict(previous.hparams)
    if "num_features" in hparams:  # GNN input width follows the new graph's features and labels
        hparams["num_features"] = graph.features.shape[1] + len(graph.labels)  # type: ignore[union-attr]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = type(previous)(graph.num_entities, graph.num_relations, **hparams)
    model.entities, model.relations = list(graph.entities), list(graph.relations)
    e_old, e_new = match_keys(previous.entities, graph.entities)
    r_old, r_new = match_keys(previous.relations, graph.relations)
    # both halves of the reciprocal layout
    r_old = np.concatenate([r_old, r_old + previous.num_relations])
    r_new = np.concatenate([r_new, r_new + graph.num_relations])
    fresh = _copy_parameters(previous, model, (torch.as_tensor(e_old), torch.as_tensor(e_new)),
                             (torch.as_tensor(r_old), torch.as_tensor(r_new)))
    report = WarmStartReport(
        entities_kept=len(e_new), entities_added=graph.num_entities - len(e_new),
        entities_removed=previous.num_entities - len(e_new),
        relations_kept=len(r_new) // 2, relations_added=graph.num_relations - len(r_new) // 2,
        relations_removed=previous.num_relations - len(r_new) // 2, fresh_parameters=tuple(fresh))
    return model, report


def _copy_parameters(previous: LinkPredictor, model: LinkPredictor, entity_rows: tuple[torch.Tensor, torch.Tensor],
                     relation_rows: tuple[torch.Tensor, torch.Tensor]) -> list[str]:
    """Copy parameters from ``previous`` into ``model`` in place; returns the names of
    those left fresh (missing in ``previous`` or of another shape)."""
    old = dict(previous.named_parameters())
    fresh: list[str] = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            src = old.get(name)
            if name.endswith(ENTITY_ROWS) and src is not None and src.shape[1:] == p.shape[1:]:
                p[entity_rows[1]] = src[entity_rows[0]].to(p)
            elif name.endswith(RELATION_ROWS) and src is not None and src.shape[1:] == p.shape[1:]:
                p[relation_rows[1]] = src[relation_rows[0]].to(p)
            elif src is not None and src.shape == p.shape:
                p.copy_(src)
            else:
                fresh.append(name)
    return fresh


def fine_tune_settings(settings: dict[str, Any], model: LinkPredictor) -> dict[str, Any]:
    """``fit`` settings to fine-tune ``model``: the cold ``settings`` (e.g. from
    :func:`~kgcomplete.training.defaults.default_settings`) with :data:`WARM_FIT` (validation every
    epoch, patience 2, at most 10 epochs or the cold maximum if lower) and the learning
    rate (``settings["lr"]`` or the model's default) scaled by :data:`WARM_LR_SCALE`.
    Model arguments (``model``, ``dim`` ...) are dropped: the previous model fixes them."""
    out = {k: v for k, v in settings.items() if k in _FIT_ARGUMENTS}
    out.update(WARM_FIT)
    out["epochs"] = min(WARM_FIT["epochs"], int(settings.get("epochs", WARM_FIT["epochs"])))
    out["lr"] = WARM_LR_SCALE * float(settings.get("lr") or getattr(model, "learning_rate", 1e-3) or 1e-3)
    return out


def fit_warm(previous: LinkPredictor | str | Path, train: KGraph, valid: KGraph | None = None, *,
             seed: int = 0, **settings: Any) -> tuple[FitResult, WarmStartReport]:
    """Warm-start from ``previous`` (:func:`warm_start`) and fine-tune on ``train``.

    Args:
        previous: the last run's model or its saved path.
        train, valid: as for :func:`~kgcomplete.training.fit.fit`.
        seed: seeds the fresh rows and training. (default: :obj:`0`)
        **settings: the cold run's ``fit`` settings, e.g. from
            :func:`~kgcomplete.training.defaults.default_settings`, turned into a fine-tune by
            :func:`fine_tune_settings`. Model arguments among them (``model``, ``dim`` ...)
            must agree with the previous model's. For other fine-tune settings call
            :func:`warm_start` and :func:`~kgcomplete.training.fit.fit` directly.

    Returns:
        ``(FitResult, WarmStartReport)``.

    Raises:
        WarmStartMismatch: ``settings`` name another model or model argument (e.g. another
            ``dim``) than the previous model's: train from scratch instead.
        InputFileError: ``previous`` is a path that holds no saved model.
    """
    if not isinstance(previous, LinkPredictor):
        previous = load_model(previous)
    _check_same_model(previous, settings)
    model, report = warm_start(previous, train, seed=seed)
    result = fit(model, train, valid, seed=seed, **fine_tune_settings(settings, model))
    return result, report


def _check_same_model(model: LinkPredictor, settings: dict[str, Any]) -> None:
    from kgcomplete.models import MODELS

    name = settings.get("model")
    name = "complex" if name == "default" else name  # as pipeline.default_settings reads it
    if name is not None and MODELS.get(str(name).lower()) is not type(model):
        raise WarmStartMismatch(f"the previous model is a {type(model).__name__}, the settings ask for {name!r}: "
                         "train from scratch")
    for key, value in settings.items():
        if key in model.hparams and key != "num_features" and model.hparams[key] != value:
            raise WarmStartMismatch(f"the previous model has {key}={model.hparams[key]!r}, the settings ask for "
                             f"{key}={value!r}: train from scratch")


_FIT_ARGUMENTS = frozenset(inspect.signature(fit).parameters) - {"model", "train", "valid", "model_kw"}
