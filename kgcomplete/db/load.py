"""Load triple files into Neo4j: entities become nodes, relations relationships.

Every entity is a node with the base label (default ``Entity``) and the key property
(default ``uid``) under a uniqueness constraint; entity types (``entity_types.tsv``) become
extra labels. A relation becomes a relationship of exactly the given type, whatever its
characters, through a dynamic ``$(...)`` type, never by building Cypher from data.

Loading is idempotent: nodes are merged by key, and a relationship is created only where
the same (head, type, tail) does not exist yet (the existing ones are read first, grouped
by head node). The whole input is read and validated before anything is written, so a
malformed file writes nothing. A load that stops part-way (server gone) is completed by
running it again. Two loads of the same triples at the same moment are not supported.

Example:
    >>> report = load_path(driver, "datasets/umls", settings.graph)  # doctest: +SKIP
    >>> report.relationships_created                                  # doctest: +SKIP
    5216
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import neo4j
from tqdm.auto import tqdm

from kgcomplete.config import GraphSettings
from kgcomplete.datasets import SPLITS, read_entity_labels, read_relation_names, read_triples
from kgcomplete.datasets.names import key_problem, name_problem
from kgcomplete.db.connect import quote
from kgcomplete.db.schema import RESERVED_LABELS, RESERVED_TYPES, ensure_key_constraint
from kgcomplete.errors import ConfigError, GraphError

Triple = tuple[str, str, str]
METADATA = {"app": "kgcomplete", "op": "load"}  # shows in the server's query log


@dataclass
class LoadReport:
    """What a load changed (zeros on a repeated load)."""

    nodes_created: int = 0
    labels_added: int = 0
    relationships_created: int = 0
    relationships_read: int = 0
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        rate = self.relationships_read / self.seconds if self.seconds else 0.0
        return (f"read {self.relationships_read} relationships; created {self.nodes_created} nodes, "
                f"{self.relationships_created} relationships, added {self.labels_added} labels "
                f"in {self.seconds:.1f} s ({rate:,.0f} relationships/s)")


@dataclass
class LoadInput:
    """Validated rows ready to write."""

    triples: list[Triple]
    entity_labels: dict[str, list[str]]
    relation_names: dict[str, tuple[str, str]]  # type -> (name, description)


def read_input(path: str | Path, splits: Sequence[str] = ("train",)) -> LoadInput:
    """Read a dataset folder (the chosen splits plus side files) or a single triples file."""
    path = Path(path)
    if path.is_dir():
        unknown = [s for s in splits if s not in SPLITS]
        if unknown:
            raise ConfigError(f"unknown split {unknown[0]!r}: choose from {', '.join(SPLITS)}")
        triples = [t for s in splits for t in read_triples(path / f"{s}.tsv", RESERVED_TYPES)]
        labels, names = read_entity_labels(path, RESERVED_LABELS), read_relation_names(path)
    else:
        triples, labels, names = read_triples(path, RESERVED_TYPES), {}, {}
    return LoadInput(triples=list(dict.fromkeys(triples)), entity_labels=labels, relation_names=names)


def check_input(data: LoadInput) -> None:
    """Raise :class:`GraphError` naming the first type, label or key beyond the limits."""
    for rel in sorted({r for _, r, _ in data.triples}):
        if rel in RESERVED_TYPES:
            raise GraphError(f"relationship type {rel!r} is reserved for kgcomplete's suggestions; rename it in the data")
        if problem := name_problem("relationship type", rel):
            raise GraphError(problem)
    for key in dict.fromkeys(x for h, _, t in data.triples for x in (h, t)):
        if problem := key_problem(key):
            raise GraphError(problem)
    for ent, labels in data.entity_labels.items():
        for label in labels:
            if label in RESERVED_LABELS:
                raise GraphError(f"label {label!r} (entity {ent!r}) is reserved by kgcomplete; rename it in the data")
            if problem := name_problem("label", label):
                raise GraphError(f"{problem} (entity {ent!r})")


def load_path(driver: neo4j.Driver, path: str | Path, graph: GraphSettings, *, database: str | None = None,
              splits: Sequence[str] = ("train",), batch_size: int = 10_000, progress: bool = True) -> LoadReport:
    """Read ``path`` (see :func:`read_input`) and write it with :func:`load_triples`."""
    data = read_input(path, splits)
    return load_triples(driver, data, graph, database=database, batch_size=batch_size, progress=progress)


def load_triples(driver: neo4j.Driver, data: LoadInput, graph: GraphSettings, *, database: str | None = None,
                 batch_size: int = 10_000, progress: bool = True) -> LoadReport:
    """Write validated rows in batched UNWIND transactions; returns what was created.

    Rows built in code (not read by :func:`read_input`) are checked here too, before anything
    is written: names and keys within :mod:`kgcomplete.datasets.names`, a positive batch size."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive number of rows, not {batch_size!r}")
    check_input(data)
    start = time.perf_counter()
    ensure_key_constraint(driver, graph, database)
    report = LoadReport(relationships_read=len(data.triples))
    entities = list(dict.fromkeys(x for h, _, t in data.triples for x in (h, t)))
    node_rows = [{"key": e, "labels": data.entity_labels.get(e, [])} for e in entities]
    label, key = quote(graph.base_label), quote(graph.key_property)
    merge_nodes = f"UNWIND $rows AS row MERGE (n:{label} {{{key}: row.key}})"
    add_labels = f"UNWIND $rows AS row MATCH (n:{label} {{{key}: row.key}}) SET n:$(row.labels)"
    read_existing = (f"UNWIND $keys AS k MATCH (a:{label} {{{key}: k}}) "
                     f"CALL (a) {{ MATCH (a)-[r]->(b:{label}) WHERE type(r) IN $types "
                     "RETURN collect(type(r)) AS types, collect(b[$key]) AS tails } RETURN k, types, tails")
    create_rels = (f"UNWIND $rows AS row MATCH (a:{label} {{{key}: row[0]}}) MATCH (b:{label} {{{key}: row[2]}}) "
                   "CREATE (a)-[r:$(row[1])]->(b) SET r.name = row[3]")
    names = data.relation_names
    with driver.session(database=database) as session, tqdm(
            total=len(node_rows) + 2 * len(data.triples), unit="row", desc="load", disable=not progress or None,
            leave=False) as bar:
        clock = time.perf_counter()
        for batch in _batches(node_rows, batch_size):
            counters = session.execute_write(_run, merge_nodes, batch)
            report.nodes_created += counters.nodes_created
            bar.update(len(batch))
        for batch in _batches([row for row in node_rows if row["labels"]], batch_size):
            report.labels_added += session.execute_write(_run, add_labels, batch).labels_added
        # Which of the triples exist already? Read them grouped by head (fast, no planner
        # surprises), then CREATE only the missing ones. Sorting by head keeps each
        # transaction's locks on few nodes.
        report.phase_seconds["nodes"] = -clock + (clock := time.perf_counter())
        heads = list(dict.fromkeys(h for h, _, _ in data.triples))
        types = sorted({r for _, r, _ in data.triples})
        existing: set[Triple] = set()
        for batch in _batches(heads, batch_size):
            for k, rtypes, tails in session.execute_read(_read, read_existing, keys=batch, types=types,
                                                          key=graph.key_property):
                existing.update((k, t, b) for t, b in zip(rtypes, tails))
        bar.update(len(data.triples))
        missing = sorted(t for t in data.triples if t not in existing)
        bar.update(len(data.triples) - len(missing))
        report.phase_seconds["find_existing"] = -clock + (clock := time.perf_counter())
        for batch in _batches(missing, batch_size):
            rows = [[h, r, t, names[r][0] if r in names else None] for h, r, t in batch]
            counters = session.execute_write(_run, create_rels, rows)
            if counters.relationships_created != len(rows):
                raise GraphError(f"{len(rows) - counters.relationships_created} relationships of a batch "
                                 "could not be created (an endpoint node is missing)")
            report.relationships_created += counters.relationships_created
            bar.update(len(batch))
        report.phase_seconds["create"] = -clock + (clock := time.perf_counter())
        if names:
            session.execute_write(_run, "UNWIND $rows AS row MERGE (t:KGCRelationType {type: row[0]}) "
                                  "SET t.name = row[1], t.description = row[2]",
                                  [[t, n, d] for t, (n, d) in names.items()])
    report.seconds = time.perf_counter() - start
    return report


@neo4j.unit_of_work(metadata=METADATA)
def _run(tx: neo4j.ManagedTransaction, text: str, rows: Sequence) -> neo4j.SummaryCounters:
    return tx.run(text, rows=rows).consume().counters


@neo4j.unit_of_work(metadata=METADATA)
def _read(tx: neo4j.ManagedTransaction, text: str, **params: object) -> list[list]:
    return [r.values() for r in tx.run(text, params)]


def _batches(rows: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
