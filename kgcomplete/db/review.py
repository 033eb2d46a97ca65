"""Review suggestions: list, accept, reject, statistics, and the decisions made so far.

Every function runs a statement from ``cypher/review/*.cypher``, the very files an analyst
pastes into Neo4j Browser, so the CLI and Browser can never disagree.

Example:
    >>> rows = list_pending(driver, limit=10)                          # doctest: +SKIP
    >>> accept(driver, rows[0]["id"], reviewer="ana")                 # doctest: +SKIP
"""

from __future__ import annotations

from functools import cache
from typing import Any, Sequence

import neo4j

from kgcomplete.config import GraphSettings
from kgcomplete.db import CYPHER_DIR
from kgcomplete.errors import ReviewError

REVIEW_DIR = CYPHER_DIR / "review"
METADATA = {"app": "kgcomplete", "op": "review"}


@cache
def statement(name: str) -> str:
    """The text of ``cypher/review/<name>.cypher``."""
    path = REVIEW_DIR / f"{name}.cypher"
    return path.read_text()


def _run(driver: neo4j.Driver, name: str, database: str | None, write: bool, **params: Any) -> list[dict[str, Any]]:
    @neo4j.unit_of_work(metadata={**METADATA, "statement": name})
    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        return [r.data() for r in tx.run(statement(name), params)]

    with driver.session(database=database) as session:
        return session.execute_write(work) if write else session.execute_read(work)


def _limit(limit: object) -> int:
    """``limit`` as a positive int, else a one-line :class:`ReviewError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ReviewError(f"limit must be a positive number, not {limit!r}")
    return limit


def list_pending(driver: neo4j.Driver, *, limit: int = 25, type: str | None = None,
                 database: str | None = None) -> list[dict[str, Any]]:
    """Pending suggestions, most probable first (``pending.cypher``)."""
    return _run(driver, "pending", database, False, limit=_limit(limit), type=type)


def for_node(driver: neo4j.Driver, node: str, *, database: str | None = None) -> list[dict[str, Any]]:
    """Every suggestion touching the node with key ``node`` (``for_node.cypher``)."""
    return _run(driver, "for_node", database, False, node=node)


def accept(driver: neo4j.Driver, ids: str | Sequence[str], *, reviewer: str, database: str | None = None,
           above: float | None = None, type: str | None = None) -> list[dict[str, Any]]:
    """Accept suggestions, all or none: each real relationship is created and each
    suggestion marked accepted in one transaction. If any id cannot be accepted, nothing is,
    and the :class:`~kgcomplete.errors.ReviewError` names every such id and why. With
    ``above`` (and ``type``), the pending suggestions of :func:`accept_above` are accepted in
    the same transaction (ids repeated in the ids are fine)."""
    if above is not None and not 0.0 <= above <= 1.0:
        raise ReviewError(f"min_probability must be between 0 and 1, not {above}")
    return _decide(driver, "accept", ids, reviewer, database, above=above, type=type)


def accept_above(driver: neo4j.Driver, min_probability: float, *, reviewer: str, type: str | None = None,
                 database: str | None = None) -> list[dict[str, Any]]:
    """Accept every pending suggestion with ``probability >= min_probability``."""
    if not 0.0 <= min_probability <= 1.0:
        raise ReviewError(f"min_probability must be between 0 and 1, not {min_probability}")
    return _run(driver, "accept_above", database, True, min_probability=float(min_probability),
                reviewer=reviewer, type=type)


def reject(driver: neo4j.Driver, ids: str | Sequence[str], *, reviewer: str,
           database: str | None = None) -> list[dict[str, Any]]:
    """Reject suggestions, all or none (as :func:`accept`); a rejected suggestion is kept,
    never proposed again, and used as a hard negative."""
    return _decide(driver, "reject", ids, reviewer, database)


def _decide(driver: neo4j.Driver, name: str, ids: str | Sequence[str], reviewer: str,
            database: str | None, above: float | None = None, type: str | None = None) -> list[dict[str, Any]]:
    wanted = list(dict.fromkeys([ids] if isinstance(ids, str) else ids))   # an id given twice is decided once
    if not wanted and above is None:
        raise ReviewError(f"no suggestion ids to {name}")

    @neo4j.unit_of_work(metadata={**METADATA, "statement": name})
    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        problems: list[str] = []
        for sid in wanted:
            found = [r.data() for r in tx.run(statement(name), id=sid, reviewer=reviewer)]
            if found:
                rows += found
            else:
                problems.append(_why_not(tx, sid))
        if problems:  # raising inside the transaction rolls every decision of this call back
            raise ReviewError(f"nothing was {name}ed: " + "; ".join(problems))
        if above is not None:
            rows += [r.data() for r in tx.run(statement("accept_above"), min_probability=float(above),
                                              reviewer=reviewer, type=type)]
        return rows

    with driver.session(database=database) as session:
        return session.execute_write(work)


def stats(driver: neo4j.Driver, *, database: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Counts by relationship type and by run."""
    return {"by_type": _run(driver, "stats_by_type", database, False),
            "by_run": _run(driver, "stats_by_run", database, False)}


def entities_pending(driver: neo4j.Driver, *, limit: int = 25, database: str | None = None) -> list[dict[str, Any]]:
    """Pending proposed entities with their relationships (``entities_pending.cypher``)."""
    return _run(driver, "entities_pending", database, False, limit=_limit(limit))


def accept_entity(driver: neo4j.Driver, id: str, *, properties: dict[str, Any], reviewer: str,
                  graph: GraphSettings | None = None, database: str | None = None) -> dict[str, Any]:
    """Accept a proposed entity: it becomes a real node with its label, the base label and
    ``properties`` (which must hold the key property), and its pending relationships become
    real, all in one transaction (``accept_entity.cypher``)."""
    graph = graph or GraphSettings()
    if properties.get(graph.key_property) in (None, ""):
        raise ReviewError(f"accepting entity {id!r} needs its key: give properties[{graph.key_property!r}]")
    try:
        rows = _run(driver, "accept_entity", database, True, id=id, properties=properties, reviewer=reviewer,
                    base_label=graph.base_label)
    except neo4j.exceptions.ConstraintError:
        raise ReviewError(f"cannot accept entity {id!r}: an entity with {graph.key_property} = "
                          f"{properties[graph.key_property]!r} exists already; choose another key") from None
    if not rows:
        raise ReviewError(_why_not_entity(driver, id, database))
    return rows[0]


def reject_entity(driver: neo4j.Driver, id: str, *, reviewer: str, database: str | None = None) -> dict[str, Any]:
    """Reject a proposed entity and its pending relationships (``reject_entity.cypher``)."""
    rows = _run(driver, "reject_entity", database, True, id=id, reviewer=reviewer)
    if not rows:
        raise ReviewError(_why_not_entity(driver, id, database))
    return rows[0]


def _why_not_entity(driver: neo4j.Driver, id: str, database: str | None) -> str:
    records, _, _ = driver.execute_query(
        "OPTIONAL MATCH (n:SuggestedEntity {id: $id}) OPTIONAL MATCH (m {kgc_suggestion: $id}) "
        "RETURN n.status AS status, m IS NOT NULL AS accepted", id=id, database_=database)
    if records and records[0]["accepted"]:
        return f"proposed entity {id!r} is already accepted"
    if not records or records[0]["status"] is None:
        return f"no proposed entity with id {id!r}"
    return f"proposed entity {id!r} is already {records[0]['status']}"


def runs(driver: neo4j.Driver, *, limit: int = 20, job: str | None = None,
         database: str | None = None) -> list[dict[str, Any]]:
    """Enrichment runs, newest first (``runs.cypher``)."""
    return _run(driver, "runs", database, False, limit=_limit(limit), job=job)


def _why_not(tx: neo4j.ManagedTransaction, id: str) -> str:
    record = tx.run("MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s.status AS status", id=id).single()
    if record is None:
        return f"no suggestion with id {id!r}"
    if record["status"] == "pending":
        return (f"suggestion {id!r} is a relationship of a proposed entity: it becomes real when the entity "
                "is accepted (kgcomplete review accept-entity)")
    return f"suggestion {id!r} is already {record['status']}"
