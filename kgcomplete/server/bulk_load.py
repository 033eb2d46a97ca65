"""A first load into the local server's empty database with Neo4j's own bulk importer.

``neo4j-admin database import full`` writes the store files directly instead of running
transactions, which makes it the fast path for a first load of millions of relationships
(``kgcomplete load PATH --bulk``). It needs the database empty and the server stopped, so it
is offered for the local instance only: the server is stopped, the validated rows (each
node with all its labels) are written as CSV into the instance's ``import/`` folder,
imported, and the server is started again; then the key constraint and the relationship
names are added over Bolt, as :func:`~kgcomplete.db.load.load_triples` would write them. Keys, labels and types go into
CSV cells (quoted), never into a command line or Cypher text.

If the importer fails, the database (empty before) is removed so that the server starts it
empty again, and the error names the importer's first complaint.

Example:
    >>> report = bulk_load(LocalNeo4j.existing(), settings.neo4j, read_input("codex-s"), settings.graph)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import neo4j

from kgcomplete.config import GraphSettings, Neo4jSettings
from kgcomplete.db.connect import connect
from kgcomplete.db.load import LoadInput, LoadReport, check_input
from kgcomplete.db.schema import ensure_key_constraint
from kgcomplete.errors import ConfigError, GraphError, LocalNeo4jError
from kgcomplete.server.local import LocalNeo4j

DATABASE = "neo4j"
ARRAY_DELIMITER = "\x1f"  # between labels in one CSV cell: a character no label may hold here


def bulk_load(server: LocalNeo4j, settings: Neo4jSettings, data: LoadInput, graph: GraphSettings,
              *, database: str | None = None,
              echo: Callable[[str], None] = lambda _: None) -> LoadReport:
    """Import ``data`` into the local ``server``'s empty default database (reached with
    ``settings``); returns what was created. Drivers opened before the import hold
    bookmarks the new store never reaches: open new ones afterwards.

    Raises:
        GraphError: the database already holds nodes (load without ``--bulk``).
        ConfigError: another database than the default, or names the importer cannot take
            (a ``:`` or ``,`` in the key property).
        LocalNeo4jError: the server is not running or the importer failed.
    """
    start = time.perf_counter()
    check_input(data)  # the loader's limits on names and keys, before the server is touched
    if database not in (None, DATABASE):
        raise ConfigError(f"the bulk importer loads the local server's default database {DATABASE!r}, not {database!r}")
    if not server.status().running:
        raise LocalNeo4jError(f"the local Neo4j in {server.home} is not running: start it first (kgcomplete neo4j start)")
    if any(c in graph.key_property for c in ":,\"") or any(c in graph.base_label for c in ARRAY_DELIMITER):
        raise ConfigError(f"key property {graph.key_property!r} cannot be a bulk import column: load without --bulk")
    with connect(settings) as driver, driver.session(database=DATABASE) as session:
        if session.run("MATCH (n) RETURN count(n) > 0 AS any").single()["any"]:  # type: ignore[index]
            raise GraphError(f"the bulk importer needs an empty database and {DATABASE!r} holds nodes: "
                             "load without --bulk (it adds to a live graph)")
    bad = sorted({lab for labs in data.entity_labels.values() for lab in labs if ARRAY_DELIMITER in lab})
    if bad:
        raise GraphError(f"label {bad[0]!r} holds a control character: load without --bulk")
    report = LoadReport(relationships_read=len(data.triples))
    folder = server.home / "import" / f"kgc-bulk-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        clock = time.perf_counter()
        nodes, rels, labels = _write_csv(folder, data, graph)
        report.phase_seconds["csv"] = -clock + (clock := time.perf_counter())
        echo(f"bulk import: {nodes:,} nodes and {rels:,} relationships written as CSV; stopping the server to import")
        server.stop()
        report.phase_seconds["stop"] = -clock + (clock := time.perf_counter())
        try:
            _import(server, folder, bool(data.relation_names))
        except LocalNeo4jError:
            _remove_database(server)  # it was empty: the server starts it empty again
            raise
        finally:
            report.phase_seconds["import"] = -clock + (clock := time.perf_counter())
            server.start()
            report.phase_seconds["start"] = -clock + (clock := time.perf_counter())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.nodes_created, report.relationships_created = nodes, rels
    with connect(settings) as driver:  # a new driver: the store's transaction ids started again
        ensure_key_constraint(driver, graph, DATABASE)
        report.phase_seconds["constraint"] = -clock + (clock := time.perf_counter())
        _add_relation_names(driver, data)
    report.labels_added = labels
    report.phase_seconds["labels"] = time.perf_counter() - clock
    report.seconds = time.perf_counter() - start
    return report


def _write_csv(folder: Path, data: LoadInput, graph: GraphSettings) -> tuple[int, int, int]:
    """``nodes.csv`` (key and every label of each entity) and ``relationships.csv``;
    returns the counts of nodes, relationships and entity-type labels."""
    entities = list(dict.fromkeys(x for h, _, t in data.triples for x in (h, t)))
    extra = data.entity_labels
    with open(folder / "nodes.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow([f"{graph.key_property}:ID", ":LABEL"])
        w.writerows([e, ARRAY_DELIMITER.join(dict.fromkeys([graph.base_label, *extra.get(e, ())]))] for e in entities)
    names = data.relation_names
    with open(folder / "relationships.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow([":START_ID", ":END_ID", ":TYPE"] + (["name"] if names else []))
        for h, r, t in data.triples:
            w.writerow([h, t, r] + ([names[r][0] if r in names else ""] if names else []))
    labels = sum(len(set(extra.get(e, ())) - {graph.base_label}) for e in entities)
    return len(entities), len(data.triples), labels


def _import(server: LocalNeo4j, folder: Path, named: bool) -> None:
    java, lib = server.java(), server.lib_dir()
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.home / "conf")}
    cmd = [java, "-cp", f"{lib}/*", "org.neo4j.cli.AdminTool", "database", "import", "full",
           f"--nodes={folder / 'nodes.csv'}", f"--relationships={folder / 'relationships.csv'}",
           "--overwrite-destination=true", "--array-delimiter=U+001F", "--multiline-fields=false",
           f"--report-file={folder / 'import.report'}"] + (["--ignore-empty-strings=true"] if named else []) + [DATABASE]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=server.home)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        first = next((ln for ln in lines if "rror" in ln or "xception" in ln), lines[-1] if lines else "no output")
        raise LocalNeo4jError(f"the bulk importer failed (exit {proc.returncode}): {first.strip()[:300]}")


def _remove_database(server: LocalNeo4j) -> None:
    for sub in ("databases", "transactions"):
        shutil.rmtree(server.home / "data" / sub / DATABASE, ignore_errors=True)


def _add_relation_names(driver: neo4j.Driver, data: LoadInput) -> None:
    """The relationship types' display names (a few rows), over Bolt."""
    if data.relation_names:
        with driver.session(database=DATABASE) as session:
            session.execute_write(_write, "UNWIND $rows AS row MERGE (t:KGCRelationType {type: row[0]}) "
                                  "SET t.name = row[1], t.description = row[2]",
                                  [[t, n, d] for t, (n, d) in data.relation_names.items()])


def _write(tx: neo4j.ManagedTransaction, text: str, rows: list) -> neo4j.SummaryCounters:
    return tx.run(text, rows=rows).consume().counters
