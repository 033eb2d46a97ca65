"""Node-generator benchmark: ``evaluate_generator`` on dataset folders, printed as JSON.

For each dataset it holds out 5% of the entities (stratified by label), trains the node
generator on the rest and reports K-shot completion (k = 1, 3; the default link predictor
trained with the 3 revealed edges for comparison) and generation of K and 3K new entities
matched to the held-out ones, against the copy_random / random_degree baselines and the
oracle posterior, as means and spreads over seeds (see :mod:`kgcomplete.evaluation.generator`)::

    python benchmarks/node_generator.py --datasets codex-s --seeds 0,1,2 \\
        --max-seconds 150 --link-seconds 120

``--held-out`` changes the held-out share; ``--drop 0.05`` first removes another 5% of the
entities, a different 5% per seed (a second typed graph built from the first);
``--share-link`` makes the generator decode with the default link predictor trained on the
rest, as ``[generator] share_link = true`` does in a run.

Writes ``benchmarks/results/node_generator_<date>.json`` unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgcomplete.evaluation.generator import evaluate_generator
from kgcomplete.training.loop import default_threads

DATASETS = ROOT.parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="codex-s", help="folders under ../shared/datasets, comma-separated")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-seconds", type=float, default=150.0, help="generator training cap per seed")
    parser.add_argument("--link-seconds", type=float, default=120.0, help="link predictor training cap per seed")
    parser.add_argument("--epochs", type=int, default=None, help="generator epochs (default: 100)")
    parser.add_argument("--held-out", type=float, default=0.05, help="share of the entities held out")
    parser.add_argument("--drop", type=float, default=0.0,
                        help="share of the entities removed before the split, another per seed")
    parser.add_argument("--no-link-predictor", action="store_true",
                        help="skip the link predictor's K-shot comparison (faster)")
    parser.add_argument("--share-link", action="store_true",
                        help="the generator decodes with the default link predictor ([generator] share_link)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all idle cores)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    threads = args.threads or default_threads()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for name in args.datasets.split(","):
        start = time.perf_counter()
        res = evaluate_generator(DATASETS / name, seeds=seeds, epochs=args.epochs, max_seconds=args.max_seconds,
                                 link_seconds=args.link_seconds, threads=threads, fraction=args.held_out,
                                 drop=args.drop, link_predictor=not args.no_link_predictor,
                                 share_link=args.share_link)
        res["total_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps({k: v for k, v in res.items() if k != "per_seed"}), flush=True)
        results.append(res)
    out = {"benchmark": "node_generator", "date": dt.datetime.now().isoformat(timespec="seconds"),
           "machine": {"cpus": os.cpu_count(), "threads": threads, "platform": platform.platform(),
                       "python": platform.python_version()},
           "command": " ".join(["node_generator.py", *sys.argv[1:]]), "results": results}
    path = args.output or ROOT / "benchmarks" / "results" / f"node_generator_{dt.date.today().isoformat()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
