"""One exception family for kgcomplete.

Every message names the culprit (file and line, setting, label, property) and says what
to do. The CLI prints ``str(error)`` on one line and exits non-zero; library callers catch
:class:`KGCompleteError`.
"""

from __future__ import annotations


class KGCompleteError(Exception):
    """Root of every error kgcomplete raises on purpose."""


class ConfigError(KGCompleteError):
    """A setting is missing, malformed or contradictory."""


class InputFileError(KGCompleteError):
    """A data file cannot be read; the message names the file and line."""

    def __init__(self, path: object, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class GraphError(KGCompleteError):
    """A graph snapshot is unusable for the requested operation (empty, unknown name...)."""


class Neo4jConnectionError(KGCompleteError):
    """The Neo4j server cannot be reached, refused the credentials, or went away."""


class LocalNeo4jError(KGCompleteError):
    """The local Neo4j server cannot be installed, started or stopped."""


class Stopped(KGCompleteError):
    """A run was asked to stop (SIGINT/SIGTERM) and stopped at a safe point; the next run
    completes the work."""


class LockHeld(KGCompleteError):
    """Another run holds the lock this run needs: the run did not start (wait for it, or try
    again later)."""


class LockLost(KGCompleteError):
    """A run's lock expired (its renewals failed) and may be another run's now: the run stops."""


class ReviewError(KGCompleteError):
    """A review action cannot be applied (unknown id, already reviewed ...)."""


class WarmStartMismatch(GraphError):
    """The previous model cannot seed this run (another model class or hyper-parameters,
    e.g. a new ``dim`` after the graph grew past a size step): train from scratch."""
