"""Keep the node generator between runs: save it, load it, warm-start it on a changed graph.

A job saves its generator next to its link predictor (``<job>.generator.pt`` beside
``<job>.pt``). The next run builds a generator of the same sizes for the new graph and
copies every row it can, as :mod:`kgcomplete.training.warm_start` does for the link
predictor: entity rows by key, relation rows by relationship type (both directions, ``r``
and ``r + R``), label rows by label name, everything else whose shape is unchanged. It is
then fine-tuned (:data:`WARM_FIT`) instead of trained from scratch.

One ``torch.save`` file of plain dicts, lists and tensors, readable with
``weights_only=True``.

Example:
    >>> save_generator("job.generator.pt", fitted.model, graph)                 # doctest: +SKIP
    >>> fitted, report = fit_generator_warm("job.generator.pt", new_graph)      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from kgcomplete.errors import GraphError, WarmStartMismatch
from kgcomplete.graph import KGraph
from kgcomplete.models.generator import LatentMixture, NodeGenerator
from kgcomplete.models.kge import ComplEx
from kgcomplete.training.checkpoints import read_saved
from kgcomplete.training.generator import GeneratorFit, fit_generator
from kgcomplete.training.warm_start import WarmStartReport, match_keys

GENERATOR_FORMAT = "kgcomplete.NodeGenerator"

#: fit_generator settings of a fine-tune: the KL weight at its final value from the start
#: (the saved codes were trained with it), validation every epoch, patience 2, at most 20
#: epochs, a third of the cold learning rate.
WARM_FIT: dict[str, Any] = dict(anneal=0.0, patience=2, epochs=20, lr=5e-3 / 3)

# parameters with one row (or column) per relation and direction, per entity, per label
RELATION_ROWS = ("link.relation.weight", "context.coefficients", "message.coefficients", "degree_head.2.weight",
                 "degree_head.2.bias")
RELATION_COLUMNS = ("counts.weight",)
ENTITY_ROWS = ("link.entity.weight",)
LABEL_ROWS = ("label_head.weight", "label_head.bias")


def save_generator(path: str | Path, model: NodeGenerator, graph: KGraph) -> Path:
    """Save a trained generator (from :func:`fit_generator`) with ``graph``'s vocabulary
    and its latent mixture."""
    if model.mixture_ is None:
        raise GraphError("the generator has no latent mixture: save one from fit_generator")
    mix = model.mixture_
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": GENERATOR_FORMAT, "version": 1, "hparams": dict(model.hparams),
                "entities": list(graph.entities), "relations": list(graph.relations), "labels": list(graph.labels),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "mixture": {"label": mix.label, "weight": mix.weight, "mean": mix.mean, "std": mix.std}}, path)
    return path


def load_generator(path: str | Path) -> tuple[NodeGenerator, dict[str, list[str]]]:
    """A generator written by :func:`save_generator` (eval mode, its mixture restored) and
    its vocabulary (``entities``, ``relations``, ``labels``). Raises
    :class:`~kgcomplete.errors.InputFileError` for anything else."""
    blob = read_saved(path, "generator", GENERATOR_FORMAT)
    vocab = {k: list(blob[k]) for k in ("entities", "relations", "labels")}
    model = _empty(len(vocab["entities"]), len(vocab["relations"]), len(vocab["labels"]), blob["hparams"])
    state = dict(blob["state_dict"])
    state.setdefault("vote_weight", torch.zeros(()))  # saved before the neighbour votes: the decoder alone
    model.load_state_dict(state)
    model.mixture_ = LatentMixture(**blob["mixture"])
    model.eval()
    return model, vocab


def _empty(num_entities: int, num_relations: int, num_labels: int, hparams: dict[str, Any],
           link: ComplEx | None = None) -> NodeGenerator:
    """A generator of the saved sizes (its link decoder fresh unless ``link``)."""
    hp = dict(hparams)
    dim = hp.pop("dim")
    if link is None:
        link = ComplEx(num_entities, num_relations, dim=dim, init_scale=0.1)
    return NodeGenerator(num_entities, num_relations, num_labels, link=link, **hp)


def warm_start_generator(previous: str | Path, graph: KGraph, *, link_model: ComplEx | None = None,
                         seed: int = 0) -> tuple[NodeGenerator, WarmStartReport]:
    """A generator for ``graph`` initialised from the saved one wherever the vocabularies
    agree; with ``link_model`` its link decoder is that model (the rest still carried over).

    Raises:
        InputFileError: ``previous`` holds no saved generator.
        WarmStartMismatch: ``link_model`` has another width than the saved generator.
    """
    old, vocab = load_generator(previous)
    hparams = dict(old.hparams)
    hparams["num_features"] = graph.features.shape[1] + len(graph.labels)  # type: ignore[union-attr]
    if link_model is not None and link_model.entity.weight.shape[1] != old.width:
        raise WarmStartMismatch(f"the saved generator is {old.width} wide, the link predictor "
                                f"{link_model.entity.weight.shape[1]}: train the generator from scratch")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = _empty(graph.num_entities, graph.num_relations, len(graph.labels), hparams, link_model)
    e_old, e_new = match_keys(vocab["entities"], list(graph.entities))
    r_old, r_new = match_keys(vocab["relations"], list(graph.relations))
    l_old, l_new = match_keys(vocab["labels"], list(graph.labels))
    R_old, R_new = len(vocab["relations"]), graph.num_relations
    rows = {"entity": (e_old, e_new), "label": (l_old, l_new),
            "relation": (np.concatenate([r_old, r_old + R_old]), np.concatenate([r_new, r_new + R_new]))}
    fresh = _copy(old, model, rows, keep_link=link_model is not None)
    report = WarmStartReport(
        entities_kept=len(e_new), entities_added=graph.num_entities - len(e_new),
        entities_removed=len(vocab["entities"]) - len(e_new), relations_kept=len(r_new),
        relations_added=R_new - len(r_new), relations_removed=R_old - len(r_new), fresh_parameters=tuple(fresh))
    return model, report


def _copy(old: NodeGenerator, model: NodeGenerator, rows: dict[str, tuple[np.ndarray, np.ndarray]],
          keep_link: bool) -> list[str]:
    """Copy ``old``'s parameters into ``model`` (in place) row by row where an axis is
    entities, relations or labels; returns the names left fresh."""
    source = dict(old.named_parameters())
    fresh: list[str] = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            src = source.get(name)
            if keep_link and name.startswith("link."):
                continue
            kind = "entity" if name in ENTITY_ROWS else "relation" if name in RELATION_ROWS + RELATION_COLUMNS \
                else "label" if name in LABEL_ROWS else None
            if src is None or src.dim() != p.dim():
                fresh.append(name)
            elif kind is not None and name in RELATION_COLUMNS and src.shape[0] == p.shape[0]:
                o, n = (torch.as_tensor(a) for a in rows[kind])
                p[:, n] = src[:, o].to(p)
            elif kind is not None and name not in RELATION_COLUMNS and src.shape[1:] == p.shape[1:]:
                o, n = (torch.as_tensor(a) for a in rows[kind])
                p[n] = src[o].to(p)
            elif kind is None and src.shape == p.shape:
                p.copy_(src)
            else:
                fresh.append(name)
    return fresh


def fit_generator_warm(previous: str | Path, graph: KGraph, *, link_model: ComplEx | None = None, seed: int = 0,
                       **settings: Any) -> tuple[GeneratorFit, WarmStartReport]:
    """Warm-start from the saved generator (:func:`warm_start_generator`) and fine-tune it
    on ``graph`` with :data:`WARM_FIT` (``settings`` other than ``None`` override it, e.g.
    ``max_seconds``).

    Raises:
        InputFileError, WarmStartMismatch: as :func:`warm_start_generator`: train from scratch.
    """
    model, report = warm_start_generator(previous, graph, link_model=link_model, seed=seed)
    options = {**WARM_FIT, **{k: v for k, v in settings.items() if v is not None}}
    fitted = fit_generator(graph, link_model=link_model, init=model, seed=seed, **options)
    fitted.warm_start = True
    return fitted, report
