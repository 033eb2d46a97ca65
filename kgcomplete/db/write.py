"""Write suggestions and runs back into Neo4j, without touching real data.

A run is one ``:KGCRun`` node (id, times, status, model, parameters, metrics, counts). Each
suggestion is one ``SUGGESTED`` relationship between two existing nodes, found by the
configured key property, with ``id`` (stable: a hash of head key, type and tail key),
``type``, ``score``, ``probability``, ``rank``, ``evidence``, ``model``, ``run_id``,
``status``, ``created_at``, ``created_run`` (the run that created it; ``run_id`` is the last run
that refreshed it), ``updated_at``, ``caption``, ``head_key``, ``tail_key``, the display
names ``head_name``, ``tail_name``, ``type_name``, and the structured reasons of
:func:`~kgcomplete.records.reason_properties` (``evidence_kind``, ``evidence_confidence``,
``evidence_step_*``: the real relationships each reason cites) with ``key_property``, the node
property their keys are values of.

Writes are batched ``UNWIND`` transactions, a few at once. Each batch looks up which of its
suggestions exist, refreshes those that are pending (score, probability, rank, evidence,
run) and creates the others; a uniqueness constraint on ``SUGGESTED.id`` makes re-runs and
concurrent writers update instead of duplicating. Accepted and rejected suggestions are
never modified; nothing is written where the real relationship exists at write time. Each
batch is one managed transaction, retried by the driver on transient errors (deadlocks
between concurrent batches included). A run that fails part-way keeps what it wrote (valid
suggestions, tagged with its run id) and is marked ``failed``; the next run writes the rest.

The run's counters (``written``, ``updated``, ``skipped``) commit with each batch: the batch
transaction also creates a ``KGCWriteBatch`` ledger node with its counts, which a second small
transaction folds into the run node (:func:`fold_batch`). A client killed between the two
leaves the ledger node; :func:`kgcomplete.db.runs.fold_run` adds it to the run when the run
ends or is found interrupted. So the counters equal what was committed, whatever was killed.

Example:
    >>> run_id = start_run(driver, model="ComplEx")                          # doctest: +SKIP
    >>> report = write_suggestions(driver, run_id, suggestions, settings.graph)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any, Callable, Sequence

import neo4j
from tqdm.auto import tqdm

from kgcomplete.config import GraphSettings
from kgcomplete.db.connect import quote
from kgcomplete.errors import Stopped
from kgcomplete.records import STEP_PROPERTIES, Reason, Suggestion, reason_properties

METADATA = {"app": "kgcomplete", "op": "writeback"}
LEDGER = "KGCWriteBatch"   # one node per committed batch until its counts are on the run


def suggestion_id(head: str, rel_type: str, tail: str) -> str:
    """Stable id of a suggested (head, type, tail): the same pair gets the same id in every run.

    The hash of ``json.dumps([head, rel_type, tail])``, built with json's own string encoder
    (the same text, 2.5 times faster for strings).
    """
    if isinstance(head, str) and isinstance(rel_type, str) and isinstance(tail, str):
        text = f"[{_json_str(head)}, {_json_str(rel_type)}, {_json_str(tail)}]"
    else:
        text = json.dumps([head, rel_type, tail])
    return hashlib.sha1(text.encode()).hexdigest()[:20]


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


def write_suggestions(driver: neo4j.Driver, run_id: str, suggestions: Sequence[Suggestion],
                      graph: GraphSettings, *, database: str | None = None, batch_size: int = 2_000,
                      writers: int = 2, progress: bool = True,
                      should_stop: Callable[[], bool] | None = None) -> WriteReport:
    """Write ``suggestions`` for run ``run_id`` in batches; see the module docstring.

    Batches are written by ``writers`` concurrent transactions (the server's CPU cores, not the
    client's, are the limit). ``should_stop`` is asked as each batch commits: if it says yes,
    the batches in flight commit, nothing more is sent, and
    :class:`~kgcomplete.errors.Stopped` is raised (the next run writes the rest).
    """
    start = time.perf_counter()
    unique = list({(s.head, s.type, s.tail): s for s in suggestions}.values())
    batches = [unique[i:i + batch_size] for i in range(0, len(unique), batch_size)]
    statements = _statements(graph)
    now = datetime.now(timezone.utc)
    report = WriteReport(skipped=len(suggestions) - len(unique))   # duplicates in the input

    def write(batch: list[Suggestion]) -> tuple[int, int, int]:
        rows = [_row(s, graph.key_property) for s in batch]   # here, so that it overlaps the other writers' round trips
        with driver.session(database=database) as session:
            for attempt in range(3):
                try:
                    batch_id = uuid.uuid4().hex
                    counts = session.execute_write(_write_batch, statements, rows, run_id, now, batch_id)
                    try:
                        session.execute_write(fold_batch, run_id, batch_id)
                    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
                        pass   # the batch's ledger entry stays; fold_run counts it when the run ends
                    return counts
                except neo4j.exceptions.ConstraintError:
                    # another writer created one of these suggestions after our check: the
                    # retry sees it and updates it instead
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    queue = iter(batches)
    done = 0
    stopping = False
    with ThreadPoolExecutor(max_workers=max(1, writers), thread_name_prefix="kgc-writeback") as pool, tqdm(
            total=len(suggestions), unit="suggestion", desc="write back", disable=not progress or None,
            leave=False) as bar:
        in_flight = {pool.submit(write, b) for b in itertools.islice(queue, max(1, writers))}
        while in_flight:
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                created, updated, n = future.result()
                report.written += created
                report.updated += updated
                report.skipped += n - created - updated
                done += n
                bar.update(n)
            if not stopping and done < len(unique) and should_stop is not None and should_stop():
                stopping = True
            if not stopping:
                in_flight |= {pool.submit(write, b) for b in itertools.islice(queue, len(finished))}
    report.seconds = time.perf_counter() - start
    if done < len(unique):
        raise Stopped(f"stopped after writing {done} of {len(unique)} suggestions; the next run writes the rest")
    return report


def _statements(graph: GraphSettings) -> tuple[str, str, str]:
    """The three statements of a batch: which of its suggestions exist, refresh those (the
    pending ones), create the others. Neither write touches a pair whose real relationship
    exists. A suggestion another writer creates between the first statement and the third
    breaks the uniqueness constraint on ``SUGGESTED.id``: the batch fails and is retried, and
    the retry finds it (checking again inside the create cost a third of the write rate).

    The id lookups name their index: planned while few or no suggestions exist (a new
    database, or after suggestions were deleted), the planner otherwise may scan all
    ``SUGGESTED`` relationships per row, and the plan stays cached as they grow."""
    label = f":{quote(graph.base_label)}" if graph.base_label else ""
    key = quote(graph.key_property)
    no_real = "NOT EXISTS { MATCH (a)-[r]->(b) WHERE type(r) = row.type }"
    existing = ("UNWIND $ids AS id MATCH ()-[s:SUGGESTED {id: id}]->() USING INDEX s:SUGGESTED(id) "
                "RETURN collect(id) AS ids")
    update = (
        "UNWIND $rows AS row MATCH (a)-[s:SUGGESTED {id: row.id}]->(b) USING INDEX s:SUGGESTED(id) "
        f"WHERE s.status = 'pending' AND {no_real} "
        f"SET s += row, {_OPTIONAL_SET}, s.run_id = $run_id, s.updated_at = $now "
        "RETURN count(s) AS n")
    create = (
        f"UNWIND $rows AS row MATCH (a{label} {{{key}: row.head_key}}) MATCH (b{label} {{{key}: row.tail_key}}) "
        f"WITH a, b, row WHERE {no_real} "
        "CREATE (a)-[s:SUGGESTED]->(b) "
        "SET s = row, s.status = 'pending', s.run_id = $run_id, s.created_run = $run_id, s.created_at = $now, "
        "s.updated_at = $now "
        "RETURN count(s) AS n")
    return existing, update, create


class _Rows(list):
    """A batch of rows whose ``repr`` is short: the driver formats every query's parameters
    for its debug log even when debug logging is off, which cost as much client time as
    sending them (and would put suggestion data in logs)."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


@neo4j.unit_of_work(metadata=METADATA)
def _write_batch(tx: neo4j.ManagedTransaction, statements: tuple[str, str, str], rows: list[dict],
                 run_id: str, now: datetime, batch_id: str) -> tuple[int, int, int]:
    existing, update, create = statements
    found = set(tx.run(existing, ids=_Rows(row["id"] for row in rows)).single(strict=True)["ids"])
    old = _Rows(row for row in rows if row["id"] in found)
    new = _Rows(row for row in rows if row["id"] not in found)
    updated = tx.run(update, rows=old, run_id=run_id, now=now).single(strict=True)["n"] if old else 0
    created = tx.run(create, rows=new, run_id=run_id, now=now).single(strict=True)["n"] if new else 0
    # the batch's counts commit with the batch itself: a ledger entry of its own (a shared
    # counter on the run node here would serialise the concurrent batches' commits)
    tx.run(f"CREATE (b:{LEDGER} {{id: $id, run_id: $run_id, written: $c, updated: $u, skipped: $s}})",
           id=batch_id, run_id=run_id, c=created, u=updated, s=len(rows) - created - updated).consume()
    return created, updated, len(rows)


@neo4j.unit_of_work(metadata=METADATA)
def fold_batch(tx: neo4j.ManagedTransaction, run_id: str, batch_id: str) -> None:
    """Move one committed batch's counts from its ledger entry onto its run, in one
    transaction (so ``run.written + ledger`` always equals what was committed)."""
    tx.run("MATCH (r:KGCRun {id: $id}) SET r.heartbeat_at = datetime()", id=run_id).consume()  # lock the run first
    tx.run(f"MATCH (b:{LEDGER} {{id: $batch}}) MATCH (r:KGCRun {{id: $id}}) "
           "SET r.written = r.written + b.written, r.updated = r.updated + b.updated, "
           "r.skipped = r.skipped + b.skipped DELETE b", id=run_id, batch=batch_id).consume()


def _row(s: Suggestion, key_property: str) -> dict[str, Any]:
    """A suggestion's properties, as written (``head_key`` and ``tail_key`` also find the nodes;
    ``key_property`` names the node property that the keys of the cited paths are values of)."""
    row = {"id": suggestion_id(s.head, s.type, s.tail), "type": s.type, "head_key": s.head, "tail_key": s.tail,
           "head_name": s.head_name, "tail_name": s.tail_name, "type_name": s.type_name,
           "score": float(s.score), "probability": float(s.probability), "rank": int(s.rank),
           "evidence": list(s.evidence), "caption": s.caption(), "model": s.model, "key_property": key_property}
    row.update(reason_properties(s.reasons or [Reason(text, "text", 0.0) for text in s.evidence]))
    # empty ones are not written (a refresh removes them: _OPTIONAL_SET sets them to null)
    return {k: v for k, v in row.items() if k not in OPTIONAL or v}


OPTIONAL = (*STEP_PROPERTIES, "head_name", "tail_name", "type_name")
_OPTIONAL_SET = ", ".join(f"s.{k} = row.{k}" for k in OPTIONAL)


