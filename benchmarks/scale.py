"""The whole loop on synthetic graphs of 100k to 10M relationships: load, pull, train,
suggest, write back, each phase's seconds and peak memory, and test MRR on held-out edges.

For each size a typed graph is drawn (:mod:`kgcomplete.datasets.synthetic`, fixed seed), 2,000
of its edges are held out as the test split, and the rest goes into a fresh local Neo4j with
the bulk importer (``kgcomplete load --bulk``). Then one enrichment run, the product's own
path (:meth:`kgcomplete.Client.enrich`), with a query budget and ``max_total`` suggestions.
The trained model ranks the held-out edges against all entities (filtered); so does a degree
baseline (each entity's count as head or tail of the relationship type in the loaded graph).

Each phase's peak RSS is this process's high-water mark during the phase (reset between
phases through ``/proc/self/clear_refs``); Neo4j's own peak is reported apart.

Usage:
    python benchmarks/scale.py --relationships 100000
    python benchmarks/scale.py --relationships 100000,1000000,3000000,10000000 --threads 2
    python benchmarks/scale.py --plot benchmarks/results/scale_2026-12-06.json   # the cost curve as a PNG
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from _server import bench_server

from kgcomplete import Client
from kgcomplete.datasets.synthetic import SyntheticGraph, synthetic_graph
from kgcomplete.db.load import LoadInput
from kgcomplete.evaluation.ranking import KnownAnswers, filtered_ranks, rank_metrics, rank_triples
from kgcomplete.graph import KGraph
from kgcomplete.server.bulk_load import bulk_load
from kgcomplete.training.defaults import LARGE_SETTINGS

TEST_EDGES = 2000


class Phases:
    """Seconds and peak RSS of consecutive named phases."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}
        self._name: str | None = None
        self._start = 0.0

    def start(self, name: str) -> None:
        self.stop()
        _reset_peak()
        self._name, self._start = name, time.perf_counter()
        print(f"[scale] {name} ...", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._name is not None:
            self.phases[self._name] = {"seconds": round(time.perf_counter() - self._start, 2),
                                       "peak_rss_bytes": _peak_rss()}
            self._name = None


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def load_input(kg: SyntheticGraph, triples: np.ndarray) -> LoadInput:
    keys, rel = kg.keys(), kg.relations
    rows = [(keys[h], rel[r], keys[t]) for h, r, t in triples.tolist()]
    labels = {keys[i]: [kg.labels[j]] for i, j in enumerate(kg.entity_label.tolist())}
    return LoadInput(triples=rows, entity_labels=labels, relation_names={})


def degree_mrr(graph: KGraph, test: np.ndarray, batch: int = 256) -> float:
    """Filtered MRR of ranking each answer by how often it answers the same relationship type."""
    R, N, t = graph.num_relations, graph.num_entities, graph.triples
    count = torch.zeros(2 * R, N)
    count.index_put_((torch.as_tensor(t[:, 1]), torch.as_tensor(t[:, 2])), torch.ones(len(t)), accumulate=True)
    count.index_put_((torch.as_tensor(t[:, 1] + R), torch.as_tensor(t[:, 0])), torch.ones(len(t)), accumulate=True)
    known = KnownAnswers(np.concatenate([t, test]), R)
    q = torch.as_tensor(np.concatenate([test, np.stack([test[:, 2], test[:, 1] + R, test[:, 0]], 1)]))
    ranks = []
    for i in range(0, len(q), batch):
        e, r, y = q[i:i + batch].unbind(1)
        rows, cols = known.lookup(e, r)
        ranks.append(filtered_ranks(count[r], y, rows, cols))
    return rank_metrics(torch.cat(ranks).numpy())["mrr"]


def run_size(relationships: int, args: argparse.Namespace) -> dict:
    phases = Phases()
    phases.start("generate")
    kg = synthetic_graph(relationships, seed=args.seed)
    rest, test = kg.split_test(TEST_EDGES, seed=args.seed)
    data = load_input(kg, rest)
    heap = "4g" if relationships > 2_000_000 else "2g"
    with bench_server(heap=heap, pagecache=heap) as (settings, server):
        assert server is not None, "the scale benchmark bulk-loads its own local server (unset KGC_BENCH_NEO4J_URI)"
        phases.start("load")
        report = bulk_load(server, settings.neo4j, data, settings.graph, echo=lambda m: print(m, file=sys.stderr))
        del data
        settings.model.threads = args.threads
        settings.model.max_seconds = args.max_train_seconds
        settings.suggest.query_budget = args.query_budget
        settings.suggest.max_total = args.suggestions
        settings.suggest.min_probability = 0.0
        if args.recipe == "large":   # the large-graph training recipe at any size, to compare costs
            settings.model.options = dict(LARGE_SETTINGS)
        with Client(settings=settings) as client:
            result = client.enrich(on_step=phases.start, echo=lambda m: print(m, file=sys.stderr, flush=True))
            phases.start("evaluate")
            graph, model = result.graph, result.fit.model
            index = graph.entity_index()
            keys, rel_index = kg.keys(), graph.relation_index()
            test_idx = np.array([(index[keys[h]], rel_index[kg.relations[r]], index[keys[t]]) for h, r, t in test.tolist()
                                 if keys[h] in index and keys[t] in index and kg.relations[r] in rel_index], dtype=np.int64)
            tail, head = rank_triples(model, test_idx, np.concatenate([graph.triples, test_idx]))
            metrics = rank_metrics(np.concatenate([tail, head]))
            baseline = degree_mrr(graph, test_idx)
            held = set(map(tuple, test_idx.tolist()))
            r_of = graph.relation_index()
            hits = sum((index[s.head], r_of[s.type], index[s.tail]) in held for s in result.suggestions)
            phases.stop()
            neo4j_peak = _peak_rss(server.status().pid) if server.status().pid else None
    total = sum(p["seconds"] for name, p in phases.phases.items() if name not in ("generate", "evaluate"))
    fit = result.fit
    return {
        "relationships": int(len(rest)), "entities": int(graph.num_entities), "relationship_types": graph.num_relations,
        "labels": len(graph.labels), "test_edges": int(len(test_idx)),
        "phases": phases.phases, "total_seconds": round(total, 2),
        "seconds_per_million_relationships": round(total / len(rest) * 1e6, 1),
        "peak_rss_bytes": max(p["peak_rss_bytes"] for p in phases.phases.values()),
        "neo4j_peak_rss_bytes": neo4j_peak, "neo4j_heap": heap,
        "load_relationships_per_s": round(len(rest) / report.seconds), "load_phase_seconds": report.phase_seconds,
        "pull_relationships_per_s": round(len(rest) / phases.phases["pull"]["seconds"]),
        "test_mrr": round(metrics["mrr"], 4), "test_hits_at_10": round(metrics["hits_at_10"], 4),
        "degree_baseline_mrr": round(baseline, 4),
        "training": {"epochs": fit.epochs, "stop_reason": fit.stop_reason, "seconds": round(fit.seconds, 1),
                     "valid_mrr": fit.best_valid_mrr},
        "suggestions_written": result.report.written,
        "suggestions_that_are_held_out_edges": hits,
        "query_budget": args.query_budget, "threads": args.threads, "recipe": args.recipe,
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def plot(path: Path) -> Path:
    """Seconds per million relationships of each phase against the graph's size, as a PNG
    beside the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in json.loads(path.read_text())["runs"] if r.get("recipe", "auto") == "auto"]
    sizes = [r["relationships"] for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4))
    for phase in ("load", "pull", "train", "suggest", "write"):
        ax.plot(sizes, [r["phases"][phase]["seconds"] / r["relationships"] * 1e6 for r in runs], "o-", label=phase)
    ax.plot(sizes, [r["seconds_per_million_relationships"] for r in runs], "ko-", lw=2, label="total")
    ax.set(xscale="log", yscale="log", xlabel="relationships", ylabel="seconds per million relationships",
           title="kgcomplete end to end on synthetic graphs (2 cores)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    out = path.with_suffix(".png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--relationships", default="100000", help="comma-separated sizes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--query-budget", type=int, default=100_000)
    ap.add_argument("--suggestions", type=int, default=10_000, help="suggestions written back (max_total)")
    ap.add_argument("--max-train-seconds", type=float, default=1200.0)
    ap.add_argument("--recipe", choices=("auto", "large"), default="auto",
                    help="training settings: chosen from the graph's size (auto), or the large-graph ones at any size")
    ap.add_argument("--output", type=Path, default=None)
    ap.add_argument("--plot", type=Path, default=None, help="only draw the cost curve of this JSON")
    args = ap.parse_args(argv)
    if args.plot:
        print(plot(args.plot))
        return []
    torch.set_num_threads(args.threads)
    out = args.output or ROOT / "benchmarks" / "results" / f"scale_{date.today().isoformat()}.json"
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    for size in (int(s) for s in args.relationships.split(",")):
        row = run_size(size, args)
        print(json.dumps(row), flush=True)
        runs = [r for r in runs if (r["relationships_asked"], r.get("recipe", "auto")) != (size, args.recipe)] \
            + [{"relationships_asked": size, **row}]
        out.write_text(json.dumps({"benchmark": "scale", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                   "command": " ".join(["python", "benchmarks/scale.py"] + (argv or sys.argv[1:])),
                                   "peak_rss_note": "this process's high-water mark per phase; Neo4j's apart",
                                   "runs": sorted(runs, key=lambda r: (r.get("recipe", "auto"), r["relationships_asked"]))},
                                  indent=1) + "\n")
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB", file=sys.stderr)
    return runs


if __name__ == "__main__":
    main()
