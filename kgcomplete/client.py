"""The Python door to a Neo4j database: one :class:`Client` holds the driver, the database
and the settings, and offers the whole loop as methods.

Like the GDS client's ``GraphDataScience(uri, auth, database=...)``: the database is the one
named in the settings (``NEO4J_DATABASE``, ``[neo4j] database``, or ``database=``) or, when
none is, the user's home database on the server, resolved once when the client connects.

Example:
    >>> from kgcomplete import Client
    >>> with Client("bolt://127.0.0.1:7687", auth=("neo4j", "secret")) as kgc:   # doctest: +SKIP
    ...     kgc.load("nations")                         # a bundled dataset, or a path
    ...     graph = kgc.pull()
    ...     run = kgc.enrich()
    ...     pending = kgc.review.pending(limit=5)
    ...     kgc.review.accept(pending[0]["id"])
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import neo4j

from kgcomplete.config import Settings, load_settings
from kgcomplete.db import feedback, review
from kgcomplete.db.connect import connect, translate_errors
from kgcomplete.db.load import LoadReport, load_path
from kgcomplete.db.pull import pull
from kgcomplete.errors import ConfigError
from kgcomplete.graph import KGraph


class Client:
    """One connection to one Neo4j database, with kgcomplete's settings.

    Args:
        uri: the server (default: ``NEO4J_URI``, the config file, or ``bolt://127.0.0.1:7687``).
        auth: ``(username, password)`` (default: ``NEO4J_USERNAME`` / ``NEO4J_PASSWORD``, or
            the generated password of the local server kgcomplete started at ``uri``).
        database: the database (default: the settings', else the user's home database).
        config: a ``kgcomplete.toml`` to read the other settings from.
        settings: settings already loaded (then ``config`` is not read).

    Attributes:
        settings: the :class:`~kgcomplete.config.Settings`, ``settings.neo4j.database`` resolved.
        driver: the verified ``neo4j.Driver``.
        database: the database every call uses.
        review: the review actions, bound to this database (:class:`Review`).
    """

    def __init__(self, uri: str | None = None, auth: tuple[str, str] | None = None, *, database: str | None = None,
                 config: str | Path | None = None, settings: Settings | None = None) -> None:
        user, password = auth if auth is not None else (None, None)
        overrides = {"uri": uri, "username": user, "password": password, "database": database}
        if settings is None:
            settings = load_settings(config, neo4j=overrides)
        else:
            settings = settings.model_copy(deep=True)
            for key, value in overrides.items():
                if value is not None:
                    setattr(settings.neo4j, key, value)
        self.settings = settings
        self.driver: neo4j.Driver = connect(settings.neo4j)
        if settings.neo4j.database is None:
            with translate_errors(settings.neo4j):
                records, _, _ = self.driver.execute_query("CALL db.info() YIELD name RETURN name")
            settings.neo4j.database = records[0]["name"]
        self.database: str = settings.neo4j.database
        self.review = Review(self)

    # ------------------------------------------------------------------ the loop
    def load(self, dataset: str | Path, *, splits: Sequence[str] = ("train",), batch_size: int = 10_000,
             progress: bool = True, bulk: bool = False, local_dir: str | Path | None = None) -> LoadReport:
        """Load a bundled dataset (by name) or a dataset folder or triples file (by path).

        ``bulk``: a first load into the empty database of the local server kgcomplete
        started (in ``local_dir``, default its usual folder) with Neo4j's importer, which
        stops and restarts that server (:mod:`kgcomplete.server.bulk_load`)."""
        from kgcomplete import datasets

        if not bulk:
            with translate_errors(self.settings.neo4j):
                return load_path(self.driver, datasets.path(dataset), self.settings.graph, database=self.database,
                                 splits=splits, batch_size=batch_size, progress=progress)
        from kgcomplete.db.load import read_input
        from kgcomplete.server.bulk_load import bulk_load
        from kgcomplete.server.local import LocalNeo4j

        server = LocalNeo4j.existing(local_dir)
        if not server.serves(self.settings.neo4j.uri):
            raise ConfigError(f"a bulk load is for the local instance in {server.home} only, and "
                              f"{self.settings.neo4j.uri} is not its Bolt address")
        data = read_input(datasets.path(dataset), splits)
        with translate_errors(self.settings.neo4j):
            report = bulk_load(server, self.settings.neo4j, data, self.settings.graph, database=self.database,
                               echo=_stderr if progress else lambda _: None)
        self.driver.close()  # its bookmarks name transactions of the store the importer replaced
        self.driver = connect(self.settings.neo4j)
        return report

    def pull(self, *, labels: Sequence[str] | None = None, types: Sequence[str] | None = None,
             seeds: Sequence[str] | None = None, hops: int = 2, fan_out: int | None = None,
             progress: bool = True) -> KGraph:
        """A snapshot: the whole graph, filtered by ``labels`` / ``types``, or ``hops`` around ``seeds``."""
        with translate_errors(self.settings.neo4j):
            return pull(self.driver, self.settings.graph, database=self.database, labels=labels, types=types,
                        seeds=seeds, hops=hops, fan_out=fan_out, progress=progress)

    def enrich(self, *, job: str | None = None, progress: bool = True,
               echo: Callable[[str], None] = lambda _: None, wait: bool = False, lock_ttl: float = 600.0,
               should_stop: Callable[[], bool] | None = None, on_step: Callable[[str], None] | None = None) -> Any:
        """One enrichment run (pull, train, suggest, write back) with the client's settings,
        under lock ``job`` (or ``"enrich"``); returns the
        :class:`~kgcomplete.jobs.enrich.EnrichResult`. If another run holds the lock: with
        ``wait`` wait for it, else :class:`~kgcomplete.errors.LockHeld`. ``on_step`` hears
        each step's name as it starts."""
        from kgcomplete.jobs.enrich import enrich

        with translate_errors(self.settings.neo4j):
            return enrich(self.driver, self.settings, job=job, progress=progress, echo=echo, wait=wait,
                          lock_ttl=lock_ttl, should_stop=should_stop, on_step=on_step)

    def runs(self, *, limit: int = 20, job: str | None = None) -> list[dict[str, Any]]:
        """Enrichment runs, newest first."""
        with translate_errors(self.settings.neo4j):
            return review.runs(self.driver, limit=limit, job=job, database=self.database)

    def labels(self) -> list[str]:
        """The node labels of the database."""
        with translate_errors(self.settings.neo4j):
            records, _, _ = self.driver.execute_query("CALL db.labels() YIELD label RETURN label",
                                                      database_=self.database)
        return [r["label"] for r in records]

    def decisions(self) -> feedback.Decisions:
        """Every suggestion grouped by status: what the next run learns from."""
        with translate_errors(self.settings.neo4j):
            return feedback.decisions(self.driver, database=self.database)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.settings.neo4j.uri!r}, database={self.database!r})"


class Review:
    """Review actions of a :class:`Client` (the statements of ``cypher/review/``).

    ``reviewer`` defaults to the login name of the user running Python.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        c = self._client
        with translate_errors(c.settings.neo4j):
            return fn(c.driver, *args, database=c.database, **kwargs)

    def pending(self, *, limit: int = 25, type: str | None = None) -> list[dict[str, Any]]:
        """Pending suggestions, most probable first."""
        return self._call(review.list_pending, limit=limit, type=type)

    def for_node(self, key: str) -> list[dict[str, Any]]:
        """Every suggestion touching the node with this key."""
        return self._call(review.for_node, key)

    def accept(self, ids: str | Sequence[str], *, reviewer: str | None = None, above: float | None = None,
               type: str | None = None) -> list[dict[str, Any]]:
        """Accept suggestions (all or none, ``above`` a probability too): each becomes the real
        relationship."""
        return self._call(review.accept, ids, reviewer=reviewer or _login(), above=above, type=type)

    def reject(self, ids: str | Sequence[str], *, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Reject suggestions (all or none): kept, never proposed again, hard negatives."""
        return self._call(review.reject, ids, reviewer=reviewer or _login())

    def accept_above(self, min_probability: float, *, type: str | None = None,
                     reviewer: str | None = None) -> list[dict[str, Any]]:
        """Accept every pending suggestion at least this probable."""
        return self._call(review.accept_above, min_probability, reviewer=reviewer or _login(), type=type)

    def stats(self) -> dict[str, list[dict[str, Any]]]:
        """Counts by type (with the mean probability beside the share accepted) and by run."""
        return self._call(review.stats)

    def entities(self, *, limit: int = 25) -> list[dict[str, Any]]:
        """Pending proposed entities with their relationships."""
        return self._call(review.entities_pending, limit=limit)

    def accept_entity(self, id: str, *, key: str, name: str | None = None,
                      reviewer: str | None = None) -> dict[str, Any]:
        """Accept a proposed entity under the key ``key`` (and ``name``)."""
        graph = self._client.settings.graph
        props = {graph.key_property: key, **({graph.name_property: name} if name else {})}
        return self._call(review.accept_entity, id, properties=props, reviewer=reviewer or _login(), graph=graph)

    def reject_entity(self, id: str, *, reviewer: str | None = None) -> dict[str, Any]:
        """Reject a proposed entity and its pending relationships."""
        return self._call(review.reject_entity, id, reviewer=reviewer or _login())


def _login() -> str:
    import getpass

    return getpass.getuser()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
