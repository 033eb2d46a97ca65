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

import os

# Torch's OpenMP threads sleep at a barrier instead of spinning, unless the user says
# otherwise. Read once, when torch loads (so only where kgcomplete is imported first, as in
# the CLI). On a busy machine spinning threads fight the neighbours for the cores: the node
# generator on the sample graph, 2 threads at load 4.5, took 46 s wall spinning and 15 s
# sleeping (benchmarks/README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
