"""What analysts decided so far, as feedback for the next run.

Accepted suggestions are real relationships by the next pull (they train as positives);
rejected ones become hard negatives and are never proposed again; pending ones are not
proposed twice. Reviewed suggestions with the probability they were shown with also
recalibrate the next run's probabilities.

Example:
    >>> seen = decisions(driver)                                        # doctest: +SKIP
    >>> len(seen.rejected), len(seen.outcomes)                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import neo4j


@dataclass
class Decisions:
    """Suggestions by status, as ``(head_key, type, tail_key)``: the feedback for training."""

    pending: list[tuple[str, str, str]] = field(default_factory=list)
    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    #: reviewed suggestions as ((head, type, tail), probability when proposed, accepted?)
    outcomes: list[tuple[tuple[str, str, str], float, bool]] = field(default_factory=list)


def decisions(driver: neo4j.Driver, *, database: str | None = None) -> Decisions:
    """Every suggestion's (head, type, tail) grouped by status."""
    out = Decisions()
    records, _, _ = driver.execute_query(
        "MATCH ()-[s:SUGGESTED]->() WHERE s.kind IS NULL "
        "RETURN s.status AS status, s.head_key AS h, s.type AS t, s.tail_key AS o, s.probability AS p",
        database_=database, routing_=neo4j.RoutingControl.READ)
    for r in records:
        getattr(out, r["status"], []).append((r["h"], r["t"], r["o"]))
        if r["status"] in ("accepted", "rejected") and r["p"] is not None:
            out.outcomes.append(((r["h"], r["t"], r["o"]), float(r["p"]), r["status"] == "accepted"))
    return out
