"""kgcomplete: knowledge-graph completion for Neo4j.

Pull a subgraph into a :class:`KGraph`, train a link predictor or the node generator,
and write scored suggestions back for review.
"""

from kgcomplete.errors import (ConfigError, GraphError, InputFileError, KGCompleteError,
                               LocalNeo4jError, Neo4jConnectionError)
from kgcomplete.graph import KGraph

__version__ = "0.1.0"

__all__ = [
    "KGraph", "KGCompleteError", "ConfigError", "GraphError", "InputFileError",
    "LocalNeo4jError", "Neo4jConnectionError", "__version__",
]
