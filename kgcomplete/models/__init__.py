"""Link predictors behind one interface (:class:`LinkPredictor`).

``MODELS`` maps a lower-case name to its class; :func:`make_model` builds one by name.

Example:
    >>> model = make_model("complex", num_entities=135, num_relations=46, dim=256)
"""

from __future__ import annotations

from typing import Any

from kgcomplete.errors import ConfigError
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.heuristics import AdamicAdar, CommonNeighbours, PathRules
from kgcomplete.models.kge import ComplEx, DistMult, KGEModel, RotatE, TransE
from kgcomplete.models.nbfnet import NBFNet
from kgcomplete.models.rgcn import RGCN
from kgcomplete.models.vgae import ARGVA, VGAE, kl_divergence

MODELS: dict[str, type[LinkPredictor]] = {
    "distmult": DistMult,
    "complex": ComplEx,
    "rotate": RotatE,
    "transe": TransE,
    "rgcn": RGCN,
    "vgae": VGAE,
    "argva": ARGVA,
    "nbfnet": NBFNet,
    "common_neighbours": CommonNeighbours,
    "adamic_adar": AdamicAdar,
    "path_rules": PathRules,
}


def make_model(name: str, num_entities: int, num_relations: int, **kw: Any) -> LinkPredictor:
    """Build the model called ``name`` (case-insensitive) for a graph of this size."""
    try:
        cls = MODELS[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}") from None
    return cls(num_entities, num_relations, **kw)


__all__ = ["LinkPredictor", "KGEModel", "DistMult", "ComplEx", "RotatE", "TransE", "RGCN", "VGAE", "ARGVA", "NBFNet",
           "CommonNeighbours", "AdamicAdar", "PathRules", "kl_divergence", "MODELS", "make_model"]
