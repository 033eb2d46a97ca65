"""The lifecycle of an enrichment run in the database: one ``:KGCRun`` node.

A run is created ``running`` (:func:`start_run`), says it is alive (:func:`heartbeat`), and
ends ``completed`` with its metrics (:func:`finish_run`) or ``failed`` with the reason
(:func:`fail_run`). A run whose heartbeat stopped (a crash, the server went away) is marked
failed as ``interrupted`` by the next :func:`start_run`.

Example:
    >>> run_id = start_run(driver, model="ComplEx", parameters={"dim": 200})  # doctest: +SKIP
    >>> finish_run(driver, run_id, metrics={"valid_mrr": 0.47})              # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import neo4j

from kgcomplete.db.schema import ensure_schema


def start_run(driver: neo4j.Driver, *, model: str, parameters: dict[str, Any] | None = None,
              kind: str = "links", job: str | None = None, database: str | None = None,
              stale_after: float = 600.0) -> str:
    """Create a ``KGCRun`` node with status ``running``; returns its id.

    Runs still ``running`` whose heartbeat is older than ``stale_after`` seconds were
    interrupted (a crash, the server went away): they are marked ``failed`` first. So are
    earlier ``running`` runs of the same ``job``: the caller holds the job's lock, so they
    cannot be alive.
    """
    ensure_schema(driver, database)
    driver.execute_query(
        "MATCH (r:KGCRun {status: 'running'}) "
        "WHERE r.heartbeat_at < datetime() - duration({seconds: $stale}) OR ($job IS NOT NULL AND r.job = $job) "
        "SET r.status = 'failed', r.error = coalesce(r.error, 'interrupted'), r.finished_at = r.heartbeat_at",
        stale=float(stale_after), job=job, database_=database)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    driver.execute_query(
        "CREATE (r:KGCRun {id: $id, kind: $kind, job: $job, model: $model, parameters: $parameters, "
        "status: 'running', started_at: datetime(), heartbeat_at: datetime(), written: 0, updated: 0, skipped: 0})",
        id=run_id, kind=kind, job=job, model=model, parameters=json.dumps(parameters or {}, sort_keys=True, default=str),
        database_=database)
    return run_id


def heartbeat(driver: neo4j.Driver, run_id: str, *, database: str | None = None) -> None:
    """Say that run ``run_id`` is alive (so :func:`start_run` does not take it for interrupted)."""
    driver.execute_query("MATCH (r:KGCRun {id: $id}) SET r.heartbeat_at = datetime()", id=run_id,
                         database_=database)


def finish_run(driver: neo4j.Driver, run_id: str, *, seconds: float | None = None,
               metrics: dict[str, float] | None = None, database: str | None = None) -> None:
    """Mark a run ``completed`` with its metrics (stored as ``metric_<name>`` properties)."""
    props = {f"metric_{k}": float(v) for k, v in (metrics or {}).items()}
    driver.execute_query(
        "MATCH (r:KGCRun {id: $id}) SET r += $props, r.status = 'completed', r.finished_at = datetime(), "
        "r.heartbeat_at = datetime(), r.metrics = $metrics, r.seconds = $seconds",
        id=run_id, props=props, metrics=json.dumps(metrics or {}, sort_keys=True),
        seconds=seconds, database_=database)


def fail_run(driver: neo4j.Driver, run_id: str, error: BaseException | str, *, database: str | None = None) -> bool:
    """Mark a run ``failed``; returns False if the server could not be reached to say so
    (the next :func:`start_run` then marks it failed as interrupted)."""
    try:
        driver.execute_query(
            "MATCH (r:KGCRun {id: $id}) SET r.status = 'failed', r.error = $error, r.finished_at = datetime()",
            id=run_id, error=str(error)[:500], database_=database)
        return True
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
        return False
