"""Candidate search cost with and without a query budget, as JSON.

The product's own search (:func:`kgcomplete.proposals.candidates.find_candidates`) over
every relationship type in both directions, with an untrained ComplEx (the cost does not
depend on the weights): seconds, queries asked, candidates kept. Without a budget a run asks
every type-consistent entity (``2 R N`` queries, each scored against up to ``N`` targets);
with ``query_budget`` it asks that many in all, the least connected first.

Usage:
    python benchmarks/candidate_search.py --dataset codex-s --budgets none,10000
    python benchmarks/candidate_search.py --dataset PATH/wn18rr --budgets 10000,100000 --dim 100 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from kgcomplete import datasets
from kgcomplete.models import make_model
from kgcomplete.proposals.blocked import BlockedTriples
from kgcomplete.proposals.candidates import SuggestPolicy, find_candidates


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="codex-s", help="a bundled name or a dataset folder")
    ap.add_argument("--budgets", default="none,10000", help="comma-separated query budgets; 'none' = no budget")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = datasets.load(args.dataset)
    g = ds.train
    model = make_model("complex", g.num_entities, g.num_relations, dim=args.dim)
    model.entities, model.relations = g.entities, g.relations
    blocked = BlockedTriples.of(g.triples, num_entities=g.num_entities, num_relations=g.num_relations)
    asked: list[int] = []  # rows of each scoring call: the queries a search asks
    queries, candidates = model.score_queries, model.score_candidates
    model.score_queries = lambda e, r, s=None: asked.append(len(e)) or queries(e, r, s)  # type: ignore[method-assign]
    model.score_candidates = lambda e, r, c, s=None: asked.append(len(e)) or candidates(e, r, c, s)  # type: ignore[method-assign]
    rows = []
    for budget in args.budgets.split(","):
        b = None if budget == "none" else int(budget)
        asked.clear()
        start = time.perf_counter()
        found = find_candidates(model, g, SuggestPolicy(top_k=args.top_k, query_budget=b), blocked, progress=True)
        seconds = time.perf_counter() - start
        row = {"dataset": ds.name, "entities": g.num_entities, "relation_types": g.num_relations,
               "query_budget": b, "queries": sum(asked), "candidates": len(found), "seconds": round(seconds, 2),
               "microseconds_per_query": round(1e6 * seconds / max(sum(asked), 1), 1),
               "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
               "threads": args.threads, "dim": args.dim, "load_before": round(os.getloadavg()[0], 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = args.output or ROOT / "benchmarks" / "results" / f"candidate_search_{date.today().isoformat()}_{ds.name}.json"
    out.write_text(json.dumps({"command": " ".join(["python", "benchmarks/candidate_search.py"] + (argv or sys.argv[1:])),
                               "results": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
