"""Node-generator training time on a bundled graph, as an enrichment run trains it: sized
to the graph, with its own decoder, stopping early (with ``--share-link``: the default link
predictor first, not timed, then the generator decoding with it). Prints one JSON line::

    OMP_NUM_THREADS=1 python benchmarks/generator_training.py --dataset sample --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgcomplete import datasets
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import fit
from kgcomplete.training.generator import fit_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sample", help="a bundled dataset or a folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--share-link", action="store_true", help="decode with the default link predictor")
    args = parser.parse_args()
    ds = datasets.load(args.dataset)
    graph = ds.train.with_triples(np.unique(ds.all_triples(), axis=0))
    link = None
    if args.share_link:
        settings = default_settings(graph)
        for key in ("patience", "eval_every"):
            settings.pop(key, None)
        link = fit(settings.pop("model"), graph, None, seed=args.seed, threads=args.threads, progress=False,
                   **settings).model
    start = time.perf_counter()
    fitted = fit_generator(graph, link_model=link, seed=args.seed, threads=args.threads, progress=False)
    print(json.dumps({"dataset": args.dataset, "entities": graph.num_entities, "threads": args.threads,
                      "share_link": args.share_link,
                      "generator_seconds": round(time.perf_counter() - start, 2), "epochs": fitted.epochs,
                      "stop_reason": fitted.stop_reason, "best_epoch": fitted.best_epoch,
                      "trainable_parameters": sum(p.numel() for p in fitted.model.parameters() if p.requires_grad)}))


if __name__ == "__main__":
    main()
