"""Recall and seconds of the approximate candidate search against the exact one, as JSON.

Trains the default model briefly (``kgcomplete.training.defaults.default_settings`` with
``--epochs``: recall on an untrained model means nothing), then runs the product's own
search (:func:`kgcomplete.proposals.candidates.find_candidates`) over the same anchors (a
query budget, least connected first) with ``search="exact"`` and with
``search="approximate"`` for each ``--rerank``. Every entity is a target of every type
(``--types learned`` keeps the constraints seen in the graph, under which most of
codex-s's types have fewer targets than ``MIN_QUANTISED`` and are scanned exactly). ``recall_at_k``: the share of the exact
search's candidates (each query's best ``top_k`` unblocked targets, as a run keeps them)
that the approximate search also returns. The approximate seconds include building the
index.

Usage:
    python benchmarks/candidate_recall.py --dataset codex-s --epochs 5
    python benchmarks/candidate_recall.py --dataset PATH/wn18rr --epochs 3 --dim 100 --rerank 4,8,16
    python benchmarks/candidate_recall.py --dataset random:300000 --budget 2000   # speed only, untrained
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from kgcomplete import datasets
from kgcomplete.graph import KGraph
from kgcomplete.models import make_model
from kgcomplete.models.base import LinkPredictor
from kgcomplete.proposals.blocked import BlockedTriples
from kgcomplete.proposals.candidates import SuggestPolicy, find_candidates
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import fit


def random_model(n: int, dim: int) -> tuple[KGraph, LinkPredictor]:
    """A chain of ``n`` entities and an untrained ComplEx with unit-scale random vectors: a
    speed check at sizes no bundled graph has (random vectors are the hardest case for recall)."""
    g = KGraph.from_labeled_triples([(f"e{i}", "R", f"e{i + 1}") for i in range(n - 1)])
    torch.manual_seed(0)
    return g, make_model("complex", g.num_entities, g.num_relations, dim=dim, init_scale=1.0)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="codex-s", help="a bundled name, a dataset folder, or random:N (untrained)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=None, help="embedding size (default: sized to the graph)")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--budget", type=int, default=5000, help="anchor queries, shared by the types and directions")
    ap.add_argument("--rerank", default="8", help="comma-separated: rescore rerank x (top_k + 21) of the index's best")
    ap.add_argument("--types", choices=["any", "learned"], default="any", help="type constraints of the targets")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.dataset.startswith("random:"):
        name, (g, model) = args.dataset.replace(":", "_"), random_model(int(args.dataset[7:]), args.dim or 100)
        epochs, mrr, train_seconds = 0, 0.0, 0.0
    else:
        ds = datasets.load(args.dataset)
        name, g = ds.name, ds.train
        settings = default_settings(g)
        settings.update(epochs=args.epochs, eval_every=args.epochs, progress=False, threads=args.threads)
        if args.dim is not None:
            settings["dim"] = args.dim
        start = time.perf_counter()
        result = fit(settings.pop("model"), g, ds.valid, **settings)
        train_seconds = time.perf_counter() - start
        model, epochs, mrr = result.model, result.epochs, float(result.best_valid_mrr or 0.0)
    blocked = BlockedTriples.of(g.triples, num_entities=g.num_entities, num_relations=g.num_relations)

    said: list[str] = []

    def search(how: str, rerank: int = 8) -> tuple[set[tuple[int, ...]], float, int]:
        anyone = {} if args.types == "learned" else {name: ([], []) for name in g.relations}
        policy = SuggestPolicy(top_k=args.top_k, query_budget=args.budget, search=how, rerank=rerank,
                               type_constraints=anyone)
        said.clear()
        start = time.perf_counter()
        found = find_candidates(model, g, policy, blocked, progress=True, echo=said.append)
        assert found.search == how, found.queries
        return set(map(tuple, found.triples.tolist())), time.perf_counter() - start, sum(found.queries.values())

    exact, exact_seconds, queries = search("exact")
    rows = []
    for rerank in map(int, args.rerank.split(",")):
        approx, seconds, _ = search("approximate", rerank)
        row = {"dataset": name, "entities": g.num_entities, "relation_types": g.num_relations,
               "model": type(model).__name__, "dim": model.hparams.get("dim"), "epochs": epochs,
               "valid_mrr": round(mrr, 4), "train_seconds": round(train_seconds, 1),
               "top_k": args.top_k, "types": args.types, "queries": queries, "rerank": rerank, "index": said[-1:],
               "exact_candidates": len(exact), "approximate_candidates": len(approx),
               "recall_at_k": round(len(exact & approx) / max(len(exact), 1), 4),
               "exact_seconds": round(exact_seconds, 2), "approximate_seconds": round(seconds, 2),
               "threads": args.threads, "load_before": round(os.getloadavg()[0], 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = args.output or ROOT / "benchmarks" / "results" / f"candidate_recall_{date.today().isoformat()}_{name}.json"
    out.write_text(json.dumps({"command": " ".join(["python", "benchmarks/candidate_recall.py"] + (argv or sys.argv[1:])),
                               "results": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
