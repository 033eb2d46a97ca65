"""Write proposed entities back as ``SuggestedEntity`` nodes with ``SUGGESTED`` relationships.

A proposal (:class:`~kgcomplete.proposals.entities.EntityProposal`) becomes one node labelled
``SuggestedEntity`` only (never its real label before it is accepted) with ``id``,
``label`` (the proposed label), ``probability``, ``label_probability``, ``novelty``,
``support``, ``anchor``, ``evidence``, ``caption``, ``model``, ``run_id``, ``status``,
``signature`` (its relationship set as ``"out|type|key"`` strings) and timestamps, plus one
``SUGGESTED`` relationship (``kind: 'entity'``) to or from each proposed neighbour.

- The id hashes the label and the relationship set, so writing the same proposal again
  (a retried run) updates it instead of duplicating; ``MERGE`` on the id makes concurrent
  writers safe. Reviewed proposals are never modified.
- A proposal whose relationships overlap a rejected or still-pending proposal's by Jaccard
  >= ``overlap`` (default 0.5) is not written: rejected proposals are never proposed again,
  pending ones not twice.
- All proposals of a run are written in one transaction: all or nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Sequence

import neo4j

from kgcomplete.config import GraphSettings
from kgcomplete.db.connect import quote
from kgcomplete.records import EntityProposal

METADATA = {"app": "kgcomplete", "op": "writeback-entities"}


def signature(p: EntityProposal) -> list[str]:
    """The proposal's relationship set as sorted ``"direction|type|neighbour"`` strings."""
    return sorted(f"{r.direction}|{r.relation}|{r.neighbour}" for r in p.relations)


def entity_id(p: EntityProposal) -> str:
    """Stable id of a proposal: the same label and relationships give the same id."""
    return "e" + hashlib.sha1(json.dumps([p.label, signature(p)]).encode()).hexdigest()[:19]


def caption(p: EntityProposal) -> str:
    """Its Browser caption: the proposed label and its most probable relationship's neighbour,
    e.g. ``Country? near usa``."""
    best = max(p.relations, key=lambda r: r.probability, default=None)
    return f"{p.label or 'entity'}?" + (f" near {best.neighbour}" if best is not None else "")


@dataclass
class EntityWriteReport:
    """What one entity writeback did."""

    written: int = 0        # new SuggestedEntity nodes
    updated: int = 0        # pending proposals refreshed
    relationships: int = 0  # SUGGESTED relationships created
    skipped: int = 0        # like a rejected or pending proposal, or already reviewed
    seconds: float = 0.0

    def describe(self) -> str:
        return (f"{self.written} new proposed entities ({self.relationships} relationships), "
                f"{self.updated} updated, {self.skipped} skipped in {self.seconds:.1f} s")


def previous_signatures(driver: neo4j.Driver, *, database: str | None = None) -> list[tuple[str, str, set[str]]]:
    """``(id, status, signature)`` of every pending or rejected proposal."""
    records, _, _ = driver.execute_query(
        "MATCH (n:SuggestedEntity) WHERE n.status IN ['pending', 'rejected'] "
        "RETURN n.id AS id, n.status AS status, n.signature AS signature",
        database_=database, routing_=neo4j.RoutingControl.READ)
    return [(r["id"], r["status"], set(r["signature"] or [])) for r in records]


def write_entities(driver: neo4j.Driver, run_id: str, proposals: Sequence[EntityProposal], graph: GraphSettings,
                   *, model: str, database: str | None = None, overlap: float = 0.5) -> EntityWriteReport:
    """Write ``proposals`` for run ``run_id``; see the module docstring."""
    start = time.perf_counter()
    report = EntityWriteReport()
    previous = previous_signatures(driver, database=database)
    rows = []
    for p in proposals:
        sig = set(signature(p))
        pid = entity_id(p)
        if not sig or any(pid != other_id and _jaccard(sig, other) >= overlap for other_id, _, other in previous):
            report.skipped += 1
            continue
        rows.append(_row(p, pid))
    if rows:
        with driver.session(database=database) as session:
            created, touched, rels = session.execute_write(_write, _statement(graph), rows, run_id, model)
        report.written, report.updated, report.relationships = created, touched - created, rels
        report.skipped += len(rows) - touched
    report.seconds = time.perf_counter() - start
    return report


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _row(p: EntityProposal, pid: str) -> dict[str, Any]:
    rels = []
    for rank, r in enumerate(p.relations, 1):
        rid = hashlib.sha1(json.dumps([pid, r.direction, r.relation, r.neighbour]).encode()).hexdigest()[:20]
        out = r.direction == "out"
        rels.append({"id": rid, "neighbour": r.neighbour, "out": out, "type": r.relation,
                     "probability": float(r.probability), "rank": rank,
                     "head": pid if out else r.neighbour, "tail": r.neighbour if out else pid,
                     "caption": f"{r.relation}? {r.probability:.0%}"})
    return {"id": pid, "label": p.label, "probability": float(p.probability),
            "label_probability": float(p.label_probability), "novelty": float(p.novelty), "support": int(p.support),
            "anchor": p.anchor, "closest": p.closest, "evidence": list(p.evidence)[:3], "caption": caption(p),
            "signature": signature(p), "relations": rels}


def _statement(graph: GraphSettings) -> str:
    label = f":{quote(graph.base_label)}" if graph.base_label else ""
    key = quote(graph.key_property)
    rel_set = ("ON CREATE SET s.type = rel.type, s.kind = 'entity', s.head_key = rel.head, s.tail_key = rel.tail, "
               "  s.status = 'pending', s.created_at = datetime() "
               "SET s.probability = rel.probability, s.rank = rel.rank, s.caption = rel.caption, s.evidence = [], "
               "  s.model = $model, s.run_id = $run_id, s.updated_at = datetime()")
    return (
        "UNWIND $rows AS row "
        "MERGE (n:SuggestedEntity {id: row.id}) "
        "ON CREATE SET n.label = row.label, n.signature = row.signature, n.status = 'pending', "
        "  n.created_at = datetime(), n.kgc_new = true "
        "WITH n, row WHERE n.status = 'pending' "
        "SET n.probability = row.probability, n.label_probability = row.label_probability, n.novelty = row.novelty, "
        "  n.support = row.support, n.anchor = row.anchor, n.closest = row.closest, n.evidence = row.evidence, "
        "  n.caption = row.caption, n.model = $model, n.run_id = $run_id, n.updated_at = datetime() "
        "WITH n, row, coalesce(n.kgc_new, false) AS created REMOVE n.kgc_new "
        "WITH n, row, created "
        "CALL (n, row) { "
        "  UNWIND row.relations AS rel "
        f"  MATCH (b{label} {{{key}: rel.neighbour}}) "
        "  FOREACH (_ IN CASE WHEN rel.out THEN [1] ELSE [] END | "
        f"    MERGE (n)-[s:SUGGESTED {{id: rel.id}}]->(b) {rel_set}) "
        "  FOREACH (_ IN CASE WHEN rel.out THEN [] ELSE [1] END | "
        f"    MERGE (b)-[s:SUGGESTED {{id: rel.id}}]->(n) {rel_set}) "
        "  RETURN count(*) AS rels "
        "} "
        "RETURN count(n) AS touched, sum(CASE WHEN created THEN 1 ELSE 0 END) AS created")


@neo4j.unit_of_work(metadata=METADATA)
def _write(tx: neo4j.ManagedTransaction, text: str, rows: list[dict], run_id: str, model: str) -> tuple[int, int, int]:
    result = tx.run(text, rows=rows, run_id=run_id, model=model)
    record = result.single(strict=True)
    rels = result.consume().counters.relationships_created
    created = int(record["created"] or 0)
    # the count commits with the entities it counts
    tx.run("MATCH (r:KGCRun {id: $id}) SET r.entities_written = coalesce(r.entities_written, 0) + $n",
           id=run_id, n=created).consume()
    return created, int(record["touched"] or 0), rels
