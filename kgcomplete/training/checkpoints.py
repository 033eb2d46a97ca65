"""Save and load a trained link predictor with the vocabulary it was trained on.

One ``torch.save`` file of plain dicts, lists and tensors, readable with
``weights_only=True`` (no pickled code).

Example:
    >>> save_model("model.pt", result.model, train)                    # doctest: +SKIP
    >>> model = load_model("model.pt"); model.relations[:2]             # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from kgcomplete.errors import GraphError, InputFileError
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS, make_model
from kgcomplete.models.base import LinkPredictor

MODEL_FORMAT = "kgcomplete.LinkPredictor"


def save_model(path: str | Path, model: LinkPredictor, graph: KGraph | None = None) -> Path:
    """Save ``model`` with the entity keys and relation names it was trained on.

    Writes one ``torch.save`` file of plain dicts, lists and tensors, readable with
    ``weights_only=True``. ``graph`` supplies the vocabulary when the model lacks it.
    """
    entities = model.entities if model.entities is not None else (graph.entities if graph else None)
    relations = model.relations if model.relations is not None else (graph.relations if graph else None)
    if entities is None or relations is None:
        raise GraphError("save_model needs the training graph's vocabulary: pass graph=")
    name = next((k for k, v in MODELS.items() if v is type(model)), None)
    if name is None:
        raise GraphError(f"{type(model).__name__} is not in kgcomplete.models.MODELS and cannot be saved")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": MODEL_FORMAT, "version": 1, "model": name, "hparams": dict(model.hparams),
                "num_entities": model.num_entities, "num_relations": model.num_relations,
                "entities": list(entities), "relations": list(relations),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)
    return path


def read_saved(path: str | Path, what: str, fmt: Any) -> dict:
    """The dict kgcomplete saved at ``path`` as a ``what`` (``"model"``, ``"generator"``) of
    format ``fmt``; :class:`InputFileError` for a missing or foreign file."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise InputFileError(path, None, f"no such {what} file") from e
    except Exception as e:  # the unpickler raises many types for a foreign file
        raise InputFileError(path, None, f"not a kgcomplete {what} ({type(e).__name__}: {e})") from e
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        raise InputFileError(path, None, f"not a kgcomplete {what} file")
    return blob


def load_model(path: str | Path) -> LinkPredictor:
    """Load a model written by :func:`save_model`; ``model.entities`` / ``model.relations``
    hold its vocabulary. Raises :class:`InputFileError` for anything else."""
    blob = read_saved(path, "model", MODEL_FORMAT)
    model = make_model(blob["model"], blob["num_entities"], blob["num_relations"], **blob["hparams"])
    model.load_state(blob["state_dict"])
    model.entities, model.relations = blob["entities"], blob["relations"]
    model.eval()
    return model
