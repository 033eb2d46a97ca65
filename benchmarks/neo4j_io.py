"""Neo4j I/O benchmark: load rate, pull rate, and the bare driver's read rate, as JSON.

A generated graph (default: 100,000 nodes, 1,000,000 relationships of 20 types, heads
drawn with a skewed degree distribution) is loaded with kgcomplete's loader into an empty
database, pulled back with the connector, and read again by the bare driver as plain
tuples (``MATCH (a)-[r]->(b) RETURN a.uid, type(r), b.uid``), all in one run.

Targets: pull >= 80% of the bare driver's rate; load >= 50,000 relationships/s.

With ``--bulk`` the load is the first-load fast path, ``kgcomplete load --bulk``: Neo4j's
own importer into the benchmark's empty local database (server stopped and started again,
all counted), then the constraint and names over Bolt.

Usage:
    python benchmarks/neo4j_io.py [--relationships 1000000] [--nodes 100000] [--bulk]

It starts its own local Neo4j in a temporary folder unless KGC_BENCH_NEO4J_URI (and
KGC_BENCH_NEO4J_PASSWORD) name a server whose default database it may wipe.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from _server import bench_server

from kgcomplete.db.connect import connect
from kgcomplete.db.load import LoadInput, load_triples
from kgcomplete.db.pull import pull
from kgcomplete.server.bulk_load import bulk_load
from kgcomplete.server.local import NEO4J_VERSION


def generate(n_nodes: int, n_rels: int, n_types: int, seed: int = 0) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    heads = np.minimum((rng.pareto(1.5, size=int(n_rels * 1.1)) * n_nodes / 50).astype(np.int64), n_nodes - 1)
    tails = rng.integers(0, n_nodes, size=heads.size)
    types = rng.integers(0, n_types, size=heads.size)
    uniq = np.unique(np.stack([heads, types, tails], axis=1), axis=0)
    uniq = uniq[rng.permutation(len(uniq))[:n_rels]]
    return [(f"n{h}", f"REL_{t}", f"n{o}") for h, t, o in uniq.tolist()]


def bare_read(driver, database: str) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    with driver.session(database=database) as session:
        for record in session.run("MATCH (a:Entity)-[r]->(b:Entity) RETURN a.uid, type(r), b.uid"):
            tuple(record)
            n += 1
    return n, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relationships", type=int, default=1_000_000)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--types", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=20_000)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    ap.add_argument("--bulk", action="store_true", help="load with Neo4j's bulk importer (kgcomplete load --bulk)")
    args = ap.parse_args()

    rows = generate(args.nodes, args.relationships, args.types)
    with bench_server(args.heap, args.pagecache) as (settings, server):
        db = settings.neo4j.database
        if args.bulk:
            if server is None:
                raise SystemExit("--bulk needs the benchmark's own local server (unset KGC_BENCH_NEO4J_URI)")
            report = bulk_load(server, settings.neo4j, LoadInput(rows, {}, {}), settings.graph, database=db)
        driver = connect(settings.neo4j)  # after a bulk import: a driver without the old store's bookmarks
        if not args.bulk:
            report = load_triples(driver, LoadInput(rows, {}, {}), settings.graph, database=db,
                                  batch_size=args.batch_size, progress=False)
        reload = load_triples(driver, LoadInput(rows, {}, {}), settings.graph, database=db,
                              batch_size=args.batch_size, progress=False)
        bare_n, bare_s = bare_read(driver, db)  # also warms the page cache for both readers
        start = time.perf_counter()
        graph = pull(driver, settings.graph, database=db, progress=False)
        pull_s = time.perf_counter() - start
        bare_n, bare_s = bare_read(driver, db)
        driver.close()
    result = {
        "benchmark": "neo4j_io", "neo4j": NEO4J_VERSION, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "nodes": report.nodes_created, "relationships": len(rows), "batch_size": args.batch_size,
        "loader": "bulk" if args.bulk else "transactions",
        "load_seconds": round(report.seconds, 2),
        "load_relationships_per_s": round(len(rows) / report.seconds),
        "load_phase_seconds": {k: round(v, 2) for k, v in report.phase_seconds.items()},
        "reload_noop_relationships_per_s": round(len(rows) / reload.seconds),
        "reload_created": reload.relationships_created,
        "pull_seconds": round(pull_s, 2),
        "pull_relationships_per_s": round(graph.num_triples / pull_s),
        "bare_driver_seconds": round(bare_s, 2),
        "bare_driver_relationships_per_s": round(bare_n / bare_s),
        "pull_vs_bare": round((graph.num_triples / pull_s) / (bare_n / bare_s), 3),
        "pulled_relationships": graph.num_triples, "bare_relationships": bare_n,
        "targets": {"load_relationships_per_s": 50_000, "pull_vs_bare": 0.8},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
