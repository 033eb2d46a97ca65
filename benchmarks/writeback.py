"""Writeback benchmark: SUGGESTED relationships written per second on loopback, as JSON.

A generated graph (default 50,000 nodes, 250,000 relationships) is loaded, then
``--suggestions`` random proposals (default 200,000) are written by
``kgcomplete.db.write.write_suggestions`` as one run, then written again (the
idempotent update path). Target: at least 20,000 suggestions/s.

With ``--warmup N``, a first run writes N other suggestions before the timed ones, so the
timed write meets a server whose JVM has compiled the write path (as on a server that has
been up for a while) rather than a fresh one.

Usage:
    python benchmarks/writeback.py [--suggestions 200000] [--batch-size 2000] [--writers 2]
                                   [--warmup 0]

It starts its own local Neo4j in a temporary folder unless KGC_BENCH_NEO4J_URI (and
KGC_BENCH_NEO4J_PASSWORD) name a server whose default database it may wipe.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _server import bench_settings

from kgcomplete.db.connect import connect
from kgcomplete.db.load import LoadInput, load_triples
from kgcomplete.db.runs import finish_run, start_run
from kgcomplete.db.write import write_suggestions
from kgcomplete.records import Suggestion
from kgcomplete.server.local import NEO4J_VERSION


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50_000)
    ap.add_argument("--relationships", type=int, default=250_000)
    ap.add_argument("--suggestions", type=int, default=200_000)
    ap.add_argument("--batch-size", type=int, default=2_000)
    ap.add_argument("--writers", type=int, default=2, help="concurrent write transactions")
    ap.add_argument("--warmup", type=int, default=0, help="suggestions written (untimed) before the timed run")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    h, t = rng.integers(0, args.nodes, (2, args.relationships))
    rows = list(dict.fromkeys((f"n{a}", f"R{a % 10}", f"n{b}") for a, b in zip(h.tolist(), t.tolist())))
    sh, st = rng.integers(0, args.nodes, (2, args.suggestions))
    pairs = list(dict.fromkeys((f"n{a}", f"R{(a + b) % 10}", f"n{b}") for a, b in zip(sh.tolist(), st.tolist())))
    props = proposals(pairs, rng)
    wh, wt = rng.integers(0, args.nodes, (2, args.warmup))
    warm = [(f"n{a}", f"W{(a + b) % 10}", f"n{b}") for a, b in zip(wh.tolist(), wt.tolist())]

    with bench_settings() as settings, connect(settings.neo4j) as driver:
        load_triples(driver, LoadInput(rows, {}, {}), settings.graph, progress=False)
        if warm:
            run = start_run(driver, model="bench-warmup")
            write_suggestions(driver, run, proposals(warm, rng), settings.graph, batch_size=args.batch_size,
                              writers=args.writers, progress=False)
            finish_run(driver, run)
        run = start_run(driver, model="bench")
        first = write_suggestions(driver, run, props, settings.graph, batch_size=args.batch_size,
                                  writers=args.writers, progress=False)
        finish_run(driver, run, seconds=first.seconds)
        run2 = start_run(driver, model="bench")
        second = write_suggestions(driver, run2, props, settings.graph, batch_size=args.batch_size,
                                  writers=args.writers, progress=False)
        finish_run(driver, run2, seconds=second.seconds)
    print(json.dumps({
        "benchmark": "writeback", "neo4j": NEO4J_VERSION, "nodes": args.nodes, "relationships": len(rows),
        "suggestions": len(props), "batch_size": args.batch_size, "writers": args.writers, "warmup": len(warm),
        "first_write": {"written": first.written, "skipped": first.skipped, "seconds": round(first.seconds, 2),
                        "suggestions_per_s": round(len(props) / first.seconds)},
        "rewrite": {"updated": second.updated, "written": second.written, "seconds": round(second.seconds, 2),
                    "suggestions_per_s": round(len(props) / second.seconds)},
        "target_suggestions_per_s": 20_000,
    }, indent=2))


def proposals(pairs: list[tuple[str, str, str]], rng: np.random.Generator) -> list[Suggestion]:
    return [Suggestion(a, r, b, float(i), float(rng.random()), 1 + i % 5, [f"evidence for {a} {r} {b}"], "bench")
            for i, (a, r, b) in enumerate(pairs)]


if __name__ == "__main__":
    main()
