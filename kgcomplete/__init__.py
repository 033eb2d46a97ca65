"""kgcomplete: knowledge-graph completion for Neo4j.

Pull a subgraph into a :class:`KGraph`, train a link predictor or the node generator, and
write scored suggestions back for review. Two doors:

- :class:`Client` — one connection to one database, with ``load``, ``pull``, ``enrich``,
  ``review`` and ``runs``;
- :func:`pipeline` — train and evaluate a model on a dataset, returning a
  :class:`~kgcomplete.evaluation.pipeline.PipelineResult`.

Example:
    >>> import kgcomplete
    >>> kgcomplete.datasets.names()
    ['codex-s', 'kinships', 'nations', 'sample', 'umls']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kgcomplete import datasets
from kgcomplete.client import Client
from kgcomplete.config import Settings, load_settings
from kgcomplete.errors import (
    ConfigError,
    GraphError,
    InputFileError,
    KGCompleteError,
    LocalNeo4jError,
    LockHeld,
    LockLost,
    Neo4jConnectionError,
    ReviewError,
    Stopped,
    WarmStartMismatch,
)
from kgcomplete.graph import KGraph

if TYPE_CHECKING:
    from kgcomplete.evaluation.pipeline import PipelineResult, pipeline

__version__ = "0.1.0"

__all__ = [
    "Client", "pipeline", "PipelineResult", "KGraph", "Settings", "load_settings", "datasets",
    "KGCompleteError", "ConfigError", "GraphError", "InputFileError", "LocalNeo4jError", "Neo4jConnectionError",
    "LockHeld", "LockLost", "ReviewError", "Stopped", "WarmStartMismatch", "__version__",
]


def __getattr__(name: str) -> Any:
    # pipeline() needs PyTorch; importing it lazily keeps `import kgcomplete` (and the CLI) quick
    if name in ("pipeline", "PipelineResult"):
        from kgcomplete.evaluation import pipeline as module

        return getattr(module, name)
    raise AttributeError(f"module 'kgcomplete' has no attribute {name!r}")
