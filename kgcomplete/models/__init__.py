"""Link predictors behind one interface (:class:`LinkPredictor`).

``MODELS`` maps a lower-case name to its class; :func:`make_model` builds one by name.

Example:
    >>> model = make_model("complex", num_entities=135, num_relations=46, dim=256)
"""

from __future__ import annotations

from typing import Any

from kgcomplete.errors import GraphError
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.kge import ComplEx, DistMult, KGEModel, RotatE, TransE

MODELS: dict[str, type[LinkPredictor]] = {
    "distmult": DistMult,
    "complex": ComplEx,
    "rotate": RotatE,
    "transe": TransE,
}


def make_model(name: str, num_entities: int, num_relations: int, **kw: Any) -> LinkPredictor:
    """Build the model called ``name`` (case-insensitive) for a graph of this size."""
    try:
        cls = MODELS[name.lower()]
    except KeyError:
        raise GraphError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}") from None
    return cls(num_entities, num_relations, **kw)


__all__ = ["LinkPredictor", "KGEModel", "DistMult", "ComplEx", "RotatE", "TransE", "MODELS", "make_model"]
