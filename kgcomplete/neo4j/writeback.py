"""Write suggestions and runs back into Neo4j, without touching real data.

A run is one ``:KGCRun`` node (id, times, status, model, parameters, metrics, counts). Each
suggestion is one ``SUGGESTED`` relationship between two existing nodes, found by the
configured key property, with ``id`` (stable: a hash of head key, type and tail key),
``type``, ``score``, ``probability``, ``rank``, ``evidence``, ``model``, ``run_id``,
``status``, ``created_at``, ``updated_at``, ``caption``, ``head_key`` and ``tail_key``.

Writes are batched ``UNWIND`` transactions. ``MERGE`` on the suggestion id (which locks
both nodes) makes re-runs and concurrent writers update instead of duplicating; accepted
and rejected suggestions are never modified; nothing is written where the real
relationship exists at write time. Each batch is one managed transaction, retried by the
driver on transient errors. A run that fails part-way keeps what it wrote (valid
suggestions, tagged with its run id) and is marked ``failed``; the next run writes the rest.

Example:
    >>> run_id = start_run(driver, model="ComplEx", parameters={"dim": 200})  # doctest: +SKIP
    >>> report = write_suggestions(driver, run_id, suggestions, settings.graph)  # doctest: +SKIP
    >>> finish_run(driver, run_id, report, metrics={"mrr": 0.47})              # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import neo4j
from tqdm.auto import tqdm

from kgcomplete.config import GraphSettings
from kgcomplete.errors import Stopped
from kgcomplete.neo4j.connection import quote
from kgcomplete.suggest import Suggestion

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "cypher" / "schema.cypher"
METADATA = {"app": "kgcomplete", "op": "writeback"}


def suggestion_id(head: str, rel_type: str, tail: str) -> str:
    """Stable id of a suggested (head, type, tail): the same pair gets the same id in every run."""
    return hashlib.sha1(json.dumps([head, rel_type, tail]).encode()).hexdigest()[:20]


def ensure_schema(driver: neo4j.Driver, database: str = "neo4j") -> None:
    """Create kgcomplete's own indexes and constraints (``cypher/schema.cypher``), except the
    entity key constraint, which depends on the settings (see ``ensure_key_constraint``)."""
    for text in SCHEMA_FILE.read_text().split(";"):
        lines = [ln for ln in text.strip().splitlines() if not ln.lstrip().startswith("//")]
        statement = "\n".join(lines).strip()
        if statement and "kgc_entity_uid" not in statement:
            driver.execute_query(statement, database_=database)


@dataclass
class WriteReport:
    """What one writeback did."""

    written: int = 0   # new suggestions
    updated: int = 0   # pending suggestions whose score and run were refreshed
    skipped: int = 0   # real relationship exists, already reviewed, or an endpoint is missing
    seconds: float = 0.0

    def describe(self) -> str:
        return (f"{self.written} new suggestions, {self.updated} updated, {self.skipped} skipped "
                f"in {self.seconds:.1f} s")


def start_run(driver: neo4j.Driver, *, model: str, parameters: dict[str, Any] | None = None,
              kind: str = "links", job: str | None = None, database: str = "neo4j",
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


def heartbeat(driver: neo4j.Driver, run_id: str, *, database: str = "neo4j") -> None:
    """Say that run ``run_id`` is alive (so :func:`start_run` does not take it for interrupted)."""
    driver.execute_query("MATCH (r:KGCRun {id: $id}) SET r.heartbeat_at = datetime()", id=run_id,
                         database_=database)


def write_suggestions(driver: neo4j.Driver, run_id: str, suggestions: Sequence[Suggestion],
                      graph: GraphSettings, *, database: str = "neo4j", batch_size: int = 5_000,
                      progress: bool = True, should_stop: Callable[[], bool] | None = None) -> WriteReport:
    """Write ``suggestions`` for run ``run_id`` in batches; see the module docstring.

    ``should_stop`` is asked after each batch: if it says yes, the batch just written stays
    committed and :class:`~kgcomplete.errors.Stopped` is raised (the next run writes the rest).
    """
    start = time.perf_counter()
    label = f":{quote(graph.base_label)}" if graph.base_label else ""
    key = quote(graph.key_property)
    text = (
        f"UNWIND $rows AS row MATCH (a{label} {{{key}: row.head}}) MATCH (b{label} {{{key}: row.tail}}) "
        "WITH a, b, row WHERE NOT EXISTS { MATCH (a)-[r]->(b) WHERE type(r) = row.type } "
        "MERGE (a)-[s:SUGGESTED {id: row.id}]->(b) "
        "ON CREATE SET s.type = row.type, s.head_key = row.head, s.tail_key = row.tail, "
        "  s.status = 'pending', s.created_at = datetime() "
        "WITH s, row WHERE s.status = 'pending' "
        "SET s.score = row.score, s.probability = row.probability, s.rank = row.rank, "
        "  s.evidence = row.evidence, s.caption = row.caption, s.model = $model, s.run_id = $run_id, "
        "  s.updated_at = datetime() "
        "RETURN count(s) AS touched")
    report = WriteReport()
    with driver.session(database=database) as session, tqdm(
            total=len(suggestions), unit="suggestion", desc="write back", disable=not progress or None,
            leave=False) as bar:
        for i in range(0, len(suggestions), batch_size):
            batch = suggestions[i:i + batch_size]
            rows = [_row(s) for s in batch]
            created, touched = session.execute_write(_write_batch, text, rows, run_id, batch[0].model)
            report.written += created
            report.updated += touched - created
            report.skipped += len(batch) - touched
            bar.update(len(batch))
            done = i + len(batch)
            if should_stop is not None and done < len(suggestions) and should_stop():
                raise Stopped(f"stopped after writing {done} of {len(suggestions)} suggestions; "
                              "the next run writes the rest")
    report.seconds = time.perf_counter() - start
    return report


@neo4j.unit_of_work(metadata=METADATA)
def _write_batch(tx: neo4j.ManagedTransaction, text: str, rows: list[dict], run_id: str, model: str) -> tuple[int, int]:
    result = tx.run(text, rows=rows, run_id=run_id, model=model)
    touched = result.single()["touched"]
    created = result.consume().counters.relationships_created
    tx.run("MATCH (r:KGCRun {id: $id}) SET r.heartbeat_at = datetime(), r.written = r.written + $c, "
           "r.updated = r.updated + $u, r.skipped = r.skipped + $s",
           id=run_id, c=created, u=touched - created, s=len(rows) - touched).consume()
    return created, touched


def _row(s: Suggestion) -> dict[str, Any]:
    return {"id": suggestion_id(s.head, s.type, s.tail), "head": s.head, "type": s.type, "tail": s.tail,
            "score": float(s.score), "probability": float(s.probability), "rank": int(s.rank),
            "evidence": list(s.evidence), "caption": s.caption()}


def finish_run(driver: neo4j.Driver, run_id: str, report: WriteReport | None = None, *,
               metrics: dict[str, float] | None = None, database: str = "neo4j") -> None:
    """Mark a run ``completed`` with its metrics (stored as ``metric_<name>`` properties)."""
    props = {f"metric_{k}": float(v) for k, v in (metrics or {}).items()}
    driver.execute_query(
        "MATCH (r:KGCRun {id: $id}) SET r += $props, r.status = 'completed', r.finished_at = datetime(), "
        "r.heartbeat_at = datetime(), r.metrics = $metrics, r.seconds = $seconds",
        id=run_id, props=props, metrics=json.dumps(metrics or {}, sort_keys=True),
        seconds=report.seconds if report else None, database_=database)


def fail_run(driver: neo4j.Driver, run_id: str, error: BaseException | str, *, database: str = "neo4j") -> bool:
    """Mark a run ``failed``; returns False if the server could not be reached to say so
    (the next :func:`start_run` then marks it failed as interrupted)."""
    try:
        driver.execute_query(
            "MATCH (r:KGCRun {id: $id}) SET r.status = 'failed', r.error = $error, r.finished_at = datetime()",
            id=run_id, error=str(error)[:500], database_=database)
        return True
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
        return False
