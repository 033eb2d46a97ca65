"""The review feedback loop on codex-s, measured: precision@100 of two enrichment runs.

1. load codex-s ``train.tsv`` (with entity types as labels) into an empty Neo4j;
2. run enrich with the product's defaults, except that it writes at most ``--write``
   suggestions (300 by default; ``suggest.max_total`` of the product is 1,000);
3. play an analyst: accept exactly the written suggestions found in ``test.tsv``, reject
   the rest;
4. run enrich again: accepted suggestions are now real relationships (positives),
   rejected ones are hard negatives and are never proposed again, and the review offsets
   shift the probabilities by what was accepted per type, (type, tail) and (head, type);
5. print JSON: precision@100 (the 100 most probable written suggestions) against
   ``test.tsv`` for both runs, and, for comparison, what run 1 would have written next
   without any review: its best 100 after the ones reviewed.

Codex-s holds its missing facts out in two halves of the same size, ``valid.tsv`` and
``test.tsv``, drawn at random; the analyst of the protocol rejects the true facts of the
``valid.tsv`` half. Against ``test.tsv`` a ranking therefore scores about half its share of
true facts, with coin-flip noise on top. The JSON also gives, as ``*_valid_or_test``, the
same precisions against both halves: what the reviews do to the share of true suggestions.
``--analyst truthful`` plays an analyst who accepts the facts of both halves instead.

Usage:
    python benchmarks/feedback_loop.py [--dataset ../shared/datasets/codex-s] [--seed 0] [--write 300]

It starts its own local Neo4j in a temporary folder unless KGC_BENCH_NEO4J_URI (and
KGC_BENCH_NEO4J_PASSWORD) name a server whose default database it may wipe.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _server import bench_settings

from kgcomplete.config import ModelSettings, SuggestSettings
from kgcomplete.datasets import read_triples
from kgcomplete.db.connect import connect
from kgcomplete.db.load import load_path
from kgcomplete.db.review import accept, reject
from kgcomplete.db.write import suggestion_id
from kgcomplete.jobs.enrich import enrich
from kgcomplete.proposals.suggest import SuggestPolicy, suggest

ROOT = Path(__file__).resolve().parents[1]


def by_type(suggestions, hits) -> dict[str, list[int]]:
    """``{type: [suggested, found in test]}`` for the five most suggested types."""
    out: dict[str, list[int]] = {}
    for s, hit in zip(suggestions, hits):
        out.setdefault(s.type, [0, 0])
        out[s.type][0] += 1
        out[s.type][1] += int(hit)
    return dict(sorted(out.items(), key=lambda kv: -kv[1][0])[:5])


def precision(suggestions, truth: set) -> float:
    """Share of ``suggestions`` whose (head, type, tail) is in ``truth``, to 3 decimals."""
    return round(sum((s.head, s.type, s.tail) in truth for s in suggestions) / max(len(suggestions), 1), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "codex-s")
    ap.add_argument("--model", default="default")
    ap.add_argument("--epochs", type=int, default=None, help="default: sized to the graph")
    ap.add_argument("--dim", type=int, default=None, help="default: sized to the graph")
    ap.add_argument("--top", type=int, default=100, help="precision at this many suggestions")
    ap.add_argument("--write", type=int, default=300, help="suggestions written (and reviewed) per run")
    ap.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    ap.add_argument("--no-learn-from-reviews", dest="learn_from_reviews", action="store_false",
                    help="switch off the review offsets (per type, (type, tail), (head, type))")
    ap.add_argument("--analyst", choices=["test", "truthful"], default="test",
                    help="test: accept exactly the suggestions in test.tsv (the issue's protocol); "
                         "truthful: accept those in valid.tsv or test.tsv")
    ap.add_argument("--warm-start", action="store_true",
                    help="keep run 1's model in a temporary checkpoint folder; run 2 fine-tunes it")
    args = ap.parse_args()

    test = set(read_triples(args.dataset / "test.tsv"))
    held_out = test | set(read_triples(args.dataset / "valid.tsv"))
    runs = []
    with bench_settings() as settings, connect(settings.neo4j) as driver, tempfile.TemporaryDirectory() as ckpt:
        settings.model = ModelSettings(name=args.model, epochs=args.epochs, seed=args.seed,
                                       options={"dim": args.dim} if args.dim else {},
                                       checkpoint_dir=ckpt if args.warm_start else None)
        settings.suggest = SuggestSettings(max_total=args.write, learn_from_reviews=args.learn_from_reviews)
        load_path(driver, args.dataset, settings.graph, splits=["train"], progress=False)
        for run in (1, 2):
            start = time.perf_counter()
            result = enrich(driver, settings, progress=False)
            hits = [(s.head, s.type, s.tail) in test for s in result.suggestions]
            top = hits[:args.top]
            runs.append({"run": run, "precision_at_top": precision(result.suggestions[:args.top], test),
                         "true_in_test_at_top": sum(top),
                         "precision_at_top_valid_or_test": precision(result.suggestions[:args.top], held_out),
                         "written": result.report.written,
                         "precision_written": precision(result.suggestions, test),
                         "valid_mrr": round(result.fit.best_valid_mrr or 0, 4),
                         "calibration_ece": round(result.calibrator.ece or 0, 4),
                         "calibration_ece_top": round(result.calibrator.ece_top or 0, 4),
                         "mean_probability_at_top": round(sum(s.probability for s in result.suggestions[:args.top])
                                                          / max(len(top), 1), 3),
                         "seconds": round(time.perf_counter() - start, 1),
                         "phase_seconds": {k: round(v, 1) for k, v in result.seconds.items()},
                         "by_type_at_top": by_type(result.suggestions[:args.top], top)})
            if run == 1:  # what the next suggestions would have been without any review
                p = settings.suggest
                more = suggest(result.fit.model, result.graph, result.calibrator,
                               SuggestPolicy(top_k=p.top_k, min_probability=0.0, max_total=len(hits) + args.top),
                               explain=False)
                runs[-1]["next_without_feedback"] = precision(more[len(hits):], test)
                runs[-1]["next_without_feedback_valid_or_test"] = precision(more[len(hits):], held_out)
                truth = test if args.analyst == "test" else held_out
                for s in result.suggestions:  # the analyst
                    sid = suggestion_id(s.head, s.type, s.tail)
                    (accept if (s.head, s.type, s.tail) in truth else reject)(driver, sid, reviewer="benchmark")
    print(json.dumps({"benchmark": "feedback_loop", "dataset": args.dataset.name, "model": args.model,
                      "epochs": args.epochs, "dim": args.dim, "top": args.top, "write": args.write,
                      "seed": args.seed, "analyst": args.analyst, "runs": runs,
                      "learn_from_reviews": args.learn_from_reviews, "warm_start": args.warm_start,
                      "second_higher": runs[1]["precision_at_top"] > runs[0]["precision_at_top"]}, indent=2))


if __name__ == "__main__":
    main()
