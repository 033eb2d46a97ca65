"""Review suggestions: list, accept, reject, statistics, and the decisions made so far.

Every function runs a statement from ``cypher/review/*.cypher``, the very files an analyst
pastes into Neo4j Browser, so the CLI and Browser can never disagree.

Example:
    >>> rows = list_pending(driver, limit=10)                          # doctest: +SKIP
    >>> accept(driver, rows[0]["id"], reviewer="ana")                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import neo4j

from kgcomplete.config import GraphSettings
from kgcomplete.errors import KGCompleteError

REVIEW_DIR = Path(__file__).resolve().parents[1] / "cypher" / "review"
METADATA = {"app": "kgcomplete", "op": "review"}


class ReviewError(KGCompleteError):
    """A review action cannot be applied (unknown id, already reviewed ...)."""


@lru_cache(maxsize=None)
def statement(name: str) -> str:
    """The text of ``cypher/review/<name>.cypher``."""
    path = REVIEW_DIR / f"{name}.cypher"
    return path.read_text()


def _run(driver: neo4j.Driver, name: str, database: str, write: bool, **params: Any) -> list[dict[str, Any]]:
    @neo4j.unit_of_work(metadata={**METADATA, "statement": name})
    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        return [r.data() for r in tx.run(statement(name), params)]

    with driver.session(database=database) as session:
        return session.execute_write(work) if write else session.execute_read(work)


def list_pending(driver: neo4j.Driver, *, limit: int = 25, type: str | None = None,
                 database: str = "neo4j") -> list[dict[str, Any]]:
    """Pending suggestions, most probable first (``pending.cypher``)."""
    return _run(driver, "pending", database, False, limit=int(limit), type=type)


def for_node(driver: neo4j.Driver, node: str, *, database: str = "neo4j") -> list[dict[str, Any]]:
    """Every suggestion touching the node with key ``node`` (``for_node.cypher``)."""
    return _run(driver, "for_node", database, False, node=node)


def accept(driver: neo4j.Driver, id: str, *, reviewer: str, database: str = "neo4j") -> dict[str, Any]:
    """Accept one suggestion: the real relationship is created in the same transaction."""
    rows = _run(driver, "accept", database, True, id=id, reviewer=reviewer)
    if not rows:
        raise ReviewError(_why_not(driver, id, database))
    return rows[0]


def accept_above(driver: neo4j.Driver, min_probability: float, *, reviewer: str, type: str | None = None,
                 database: str = "neo4j") -> list[dict[str, Any]]:
    """Accept every pending suggestion with ``probability >= min_probability``."""
    if not 0.0 <= min_probability <= 1.0:
        raise ReviewError(f"min_probability must be between 0 and 1, not {min_probability}")
    return _run(driver, "accept_above", database, True, min_probability=float(min_probability),
                reviewer=reviewer, type=type)


def reject(driver: neo4j.Driver, id: str, *, reviewer: str, database: str = "neo4j") -> dict[str, Any]:
    """Reject one suggestion; it is kept, never proposed again, and used as a hard negative."""
    rows = _run(driver, "reject", database, True, id=id, reviewer=reviewer)
    if not rows:
        raise ReviewError(_why_not(driver, id, database))
    return rows[0]


def stats(driver: neo4j.Driver, *, database: str = "neo4j") -> dict[str, list[dict[str, Any]]]:
    """Counts by relationship type and by run."""
    return {"by_type": _run(driver, "stats_by_type", database, False),
            "by_run": _run(driver, "stats_by_run", database, False)}


def entities_pending(driver: neo4j.Driver, *, limit: int = 25, database: str = "neo4j") -> list[dict[str, Any]]:
    """Pending proposed entities with their relationships (``entities_pending.cypher``)."""
    return _run(driver, "entities_pending", database, False, limit=int(limit))


def accept_entity(driver: neo4j.Driver, id: str, *, properties: dict[str, Any], reviewer: str,
                  graph: GraphSettings | None = None, database: str = "neo4j") -> dict[str, Any]:
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


def reject_entity(driver: neo4j.Driver, id: str, *, reviewer: str, database: str = "neo4j") -> dict[str, Any]:
    """Reject a proposed entity and its pending relationships (``reject_entity.cypher``)."""
    rows = _run(driver, "reject_entity", database, True, id=id, reviewer=reviewer)
    if not rows:
        raise ReviewError(_why_not_entity(driver, id, database))
    return rows[0]


def _why_not_entity(driver: neo4j.Driver, id: str, database: str) -> str:
    records, _, _ = driver.execute_query(
        "OPTIONAL MATCH (n:SuggestedEntity {id: $id}) OPTIONAL MATCH (m {kgc_suggestion: $id}) "
        "RETURN n.status AS status, m IS NOT NULL AS accepted", id=id, database_=database)
    if records and records[0]["accepted"]:
        return f"proposed entity {id!r} is already accepted"
    if not records or records[0]["status"] is None:
        return f"no proposed entity with id {id!r}"
    return f"proposed entity {id!r} is already {records[0]['status']}"


def runs(driver: neo4j.Driver, *, limit: int = 20, job: str | None = None,
         database: str = "neo4j") -> list[dict[str, Any]]:
    """Enrichment runs, newest first (``runs.cypher``)."""
    return _run(driver, "runs", database, False, limit=int(limit), job=job)


def _why_not(driver: neo4j.Driver, id: str, database: str) -> str:
    records, _, _ = driver.execute_query("MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s.status AS status",
                                         id=id, database_=database)
    if not records:
        return f"no suggestion with id {id!r}"
    if records[0]["status"] == "pending":
        return (f"suggestion {id!r} is a relationship of a proposed entity: it becomes real when the entity "
                "is accepted (kgcomplete review accept-entity)")
    return f"suggestion {id!r} is already {records[0]['status']}"


@dataclass
class Decisions:
    """Suggestions by status, as ``(head_key, type, tail_key)``: the feedback for training."""

    pending: list[tuple[str, str, str]] = field(default_factory=list)
    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    #: reviewed suggestions as ((head, type, tail), probability when proposed, accepted?)
    outcomes: list[tuple[tuple[str, str, str], float, bool]] = field(default_factory=list)


def decisions(driver: neo4j.Driver, *, database: str = "neo4j") -> Decisions:
    """Every suggestion's (head, type, tail) grouped by status."""
    out = Decisions()
    records, _, _ = driver.execute_query(
        "MATCH ()-[s:SUGGESTED]->() WHERE s.kind IS NULL RETURN s.status AS status, s.head_key AS h, s.type AS t, s.tail_key AS o, "
        "s.probability AS p", database_=database, routing_=neo4j.RoutingControl.READ)
    for r in records:
        getattr(out, r["status"], []).append((r["h"], r["t"], r["o"]))
        if r["status"] in ("accepted", "rejected") and r["p"] is not None:
            out.outcomes.append(((r["h"], r["t"], r["o"]), float(r["p"]), r["status"] == "accepted"))
    return out
