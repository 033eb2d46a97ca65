"""The lifecycle of an enrichment run in the database: one ``:KGCRun`` node.

A run is created ``running`` (:func:`start_run`) under its lock's name, says it is alive
(:func:`heartbeat`, from a background thread for the whole run), and ends ``completed`` with
its metrics (:func:`finish_run`) or ``failed`` with the reason (:func:`fail_run`).

A run found ``running`` by the next :func:`start_run` was interrupted (killed, or the server
went away) if it held the same lock (the caller holds it now, so it cannot be alive) or its
heartbeat is older than ``stale_after``: it is marked ``failed`` as ``interrupted``. Every
ending folds the run's writeback ledger (:func:`fold_run`), so ``written``, ``updated`` and
``skipped`` count exactly the committed batches, even after a crash.

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

METADATA = {"app": "kgcomplete", "op": "run"}
STALE_AFTER = 600.0   # seconds without a heartbeat after which a running run counts as interrupted

# Adds a run's ledger entries (writeback batches not yet folded) to its counters and deletes
# them. Run after a statement that write-locked the run node, so that a concurrent fold of the
# same batch (write.fold_batch, which locks the node first too) cannot count it twice.
_FOLD = ("MATCH (r:KGCRun {id: $id}) OPTIONAL MATCH (b:KGCWriteBatch {run_id: $id}) "
         "WITH r, collect(b) AS bs "
         "SET r.written = coalesce(r.written, 0) + reduce(n = 0, b IN bs | n + b.written), "
         "r.updated = coalesce(r.updated, 0) + reduce(n = 0, b IN bs | n + b.updated), "
         "r.skipped = coalesce(r.skipped, 0) + reduce(n = 0, b IN bs | n + b.skipped) "
         "FOREACH (b IN bs | DELETE b)")
_LOCK_RUN = "MATCH (r:KGCRun {id: $id}) SET r.fold_lock = true REMOVE r.fold_lock"


def start_run(driver: neo4j.Driver, *, model: str, parameters: dict[str, Any] | None = None,
              kind: str = "links", job: str | None = None, lock: str | None = None,
              database: str | None = None, stale_after: float = STALE_AFTER) -> str:
    """Create a ``KGCRun`` node with status ``running``; returns its id.

    Earlier runs still ``running`` under the same ``lock`` (default: ``job``) cannot be alive:
    the caller holds that lock now. They, and running runs whose heartbeat is older than
    ``stale_after`` seconds, are marked ``failed`` as ``interrupted``, their ledgers folded.
    """
    ensure_schema(driver, database)
    lock = lock if lock is not None else job
    records, _, _ = driver.execute_query(
        "MATCH (r:KGCRun {status: 'running'}) "
        "WHERE r.heartbeat_at < datetime() - duration({seconds: $stale}) "
        "   OR ($lock IS NOT NULL AND coalesce(r.lock, r.job) = $lock) RETURN r.id AS id",
        stale=float(stale_after), lock=lock, database_=database)
    for record in records:
        with driver.session(database=database) as session:
            session.execute_write(_end, record["id"], "failed", "interrupted", True)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    driver.execute_query(
        "CREATE (r:KGCRun {id: $id, kind: $kind, job: $job, lock: $lock, model: $model, parameters: $parameters, "
        "status: 'running', started_at: datetime(), heartbeat_at: datetime(), written: 0, updated: 0, skipped: 0})",
        id=run_id, kind=kind, job=job, lock=lock, model=model,
        parameters=json.dumps(parameters or {}, sort_keys=True, default=str), database_=database)
    return run_id


def heartbeat(driver: neo4j.Driver, run_id: str, *, database: str | None = None) -> None:
    """Say that run ``run_id`` is alive (so :func:`start_run` does not take it for interrupted)."""
    driver.execute_query("MATCH (r:KGCRun {id: $id}) WHERE r.status = 'running' SET r.heartbeat_at = datetime()",
                         id=run_id, database_=database)


def fold_run(driver: neo4j.Driver, run_id: str, *, database: str | None = None) -> None:
    """Add the run's unfolded writeback batches to its counters (see :mod:`kgcomplete.db.write`)."""
    with driver.session(database=database) as session:
        session.execute_write(_end, run_id, None, None, False)


def finish_run(driver: neo4j.Driver, run_id: str, *, seconds: float | None = None,
               metrics: dict[str, float] | None = None, database: str | None = None) -> None:
    """Mark a run ``completed`` with its metrics (stored as ``metric_<name>`` properties); an
    ``error`` left by a run that took it for interrupted is removed: it was not."""
    props = {f"metric_{k}": float(v) for k, v in (metrics or {}).items()}
    with driver.session(database=database) as session:
        session.execute_write(_end, run_id, "completed", None, False)
    driver.execute_query(
        "MATCH (r:KGCRun {id: $id}) SET r += $props, r.metrics = $metrics, r.seconds = $seconds",
        id=run_id, props=props, metrics=json.dumps(metrics or {}, sort_keys=True),
        seconds=seconds, database_=database)


def fail_run(driver: neo4j.Driver, run_id: str, error: BaseException | str, *, database: str | None = None) -> bool:
    """Mark a run ``failed``; returns False if the server could not be reached to say so
    (the next :func:`start_run` then marks it failed as interrupted)."""
    try:
        with driver.session(database=database) as session:
            session.execute_write(_end, run_id, "failed", str(error)[:500] or type(error).__name__, False)
        return True
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
        return False


@neo4j.unit_of_work(metadata=METADATA)
def _end(tx: neo4j.ManagedTransaction, run_id: str, status: str | None, error: str | None, found: bool) -> None:
    """Lock the run, fold its ledger and, with a ``status``, end it: ``found`` (taken for
    interrupted by another run) ends it at its last heartbeat and keeps an earlier error."""
    tx.run(_LOCK_RUN, id=run_id).consume()
    tx.run(_FOLD, id=run_id).consume()
    if status is None:
        return
    if found:
        tx.run("MATCH (r:KGCRun {id: $id}) WHERE r.status = 'running' SET r.status = $status, "
               "r.error = coalesce(r.error, $error), r.finished_at = r.heartbeat_at",
               id=run_id, status=status, error=error).consume()
    else:
        tx.run("MATCH (r:KGCRun {id: $id}) SET r.status = $status, r.error = $error, r.finished_at = datetime(), "
               "r.heartbeat_at = datetime()", id=run_id, status=status, error=error).consume()
