"""Warm start benchmark: a nightly run on a graph that changed by 2%, from scratch vs from
last night's checkpoint.

The *new* (tonight's) graph is codex-s ``train.tsv`` unchanged, so ``valid.tsv`` and
``test.tsv`` evaluate it as usual. The *previous* (last night's) graph differs from it by
2% of its triples, 1% each way (``--change``, default 0.02; ``n = round(change / 2 * |train|)``
triples each way, 329 for codex-s):

* **added since last night** (in the new graph only): every triple of ``--new-entities``
  (default 10) entities picked at random among those with 2 to 20 training triples (so they
  are new entities tonight), then random other triples up to ``n``, only ones whose head,
  tail and relation keep another triple in the previous graph;
* **removed since last night** (in the previous graph only): ``--removed-entities``
  (default 10) made-up entities ``removed-0, ...`` with 5 triples each to random entities
  under random relations, then random corrupted triples (a true head and relation with a
  random tail, never a known triple) up to ``n``.

The previous graph's vocabulary is in order of first appearance over its shuffled triples,
as a pull would give it, so entity indices differ between the two nights and rows must be
matched by key. Its model is trained from scratch with early stopping on the ``valid.tsv``
triples it knows the entities of, saved and loaded back (as the nightly job would). Then
on the new graph:

* **full**: ``fit`` from scratch with :func:`kgcomplete.evaluation.pipeline.default_settings`;
* **warm**: :func:`kgcomplete.training.warm_start.fit_warm` from the loaded checkpoint, same
  settings turned into a fine-tune by :func:`~kgcomplete.training.warm_start.fine_tune_settings`;
* **reused**: the warm-started model with no training at all (new entities random), for
  reference.

Each row has train seconds, epochs and filtered test metrics (train, valid and test
filtered, both directions, as :func:`kgcomplete.evaluation.pipeline.evaluate_dataset`). Prints JSON
and writes ``benchmarks/results/warm_start_<date>.json`` (or ``--output``)::

    .venv/bin/python benchmarks/warm_start.py --repeats 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgcomplete.datasets import Dataset, read_dataset
from kgcomplete.evaluation.ranking import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.training.checkpoints import load_model, save_model
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import FitResult, fit
from kgcomplete.training.warm_start import fine_tune_settings, fit_warm, warm_start

DATASET = ROOT.parent / "shared" / "datasets" / "codex-s"


def previous_graph(train: KGraph, change: float, new_entities: int, removed_entities: int,
                   seed: int) -> tuple[KGraph, dict[str, Any]]:
    """Last night's graph: ``train`` minus the triples added since, plus those removed
    since (see the module docstring). Returns it and a description of the change."""
    rng = np.random.default_rng(seed)
    t = train.triples
    n = int(round(change / 2 * len(t)))
    degree = np.bincount(t[:, [0, 2]].ravel(), minlength=train.num_entities)
    pool = np.flatnonzero((degree >= 2) & (degree <= 20))
    fresh = rng.choice(pool, size=new_entities, replace=False)
    added = np.isin(t[:, 0], fresh) | np.isin(t[:, 2], fresh)
    ent_left = np.bincount(t[~added][:, [0, 2]].ravel(), minlength=train.num_entities)
    rel_left = np.bincount(t[~added][:, 1], minlength=train.num_relations)
    for i in rng.permutation(np.flatnonzero(~added)).tolist():
        if added.sum() >= n:
            break
        h, r, o = t[i]
        if ent_left[h] > 1 and ent_left[o] > 1 and rel_left[r] > 1:
            added[i] = True
            ent_left[h] -= 1
            ent_left[o] -= 1
            rel_left[r] -= 1
    others = np.setdiff1d(np.arange(train.num_entities), fresh)  # fresh ones stay new tonight
    gone_rows = [(f"removed-{k}", train.relations[rng.integers(train.num_relations)],
                  train.entities[rng.choice(others)]) for k in range(removed_entities) for _ in range(5)]
    gone_rows = [(h, r, o) if j % 2 else (o, r, h) for j, (h, r, o) in enumerate(gone_rows)]
    known = train.known()
    corrupted: set[tuple[int, int, int]] = set()
    while len(gone_rows) + len(corrupted) < n:
        h, r, _ = t[rng.integers(len(t))]
        row = (int(h), int(r), int(rng.choice(others)))
        if row not in known and h not in fresh:
            corrupted.add(row)
    e, r_ = train.entities, train.relations
    gone_rows += [(e[h], r_[r], e[o]) for h, r, o in sorted(corrupted)]
    rows = [row for row, a in zip(train.labeled_triples(), added.tolist()) if not a] + gone_rows
    rows = [rows[i] for i in rng.permutation(len(rows))]
    prev = KGraph.from_labeled_triples(rows)
    where = train.entity_index()  # labels as a pull would see them; made-up entities have none
    labels = np.zeros((prev.num_entities, len(train.labels)), dtype=bool)
    known_rows = [(i, where[k]) for i, k in enumerate(prev.entities) if k in where]
    labels[[i for i, _ in known_rows]] = train.entity_labels[[j for _, j in known_rows]]  # type: ignore[index]
    prev = replace(prev, labels=list(train.labels), entity_labels=labels)
    change_info = {"new_graph_triples": train.num_triples, "previous_graph_triples": prev.num_triples,
                   "triples_added": int(added.sum()), "triples_removed": len(gone_rows),
                   "changed_fraction": round((int(added.sum()) + len(gone_rows)) / train.num_triples, 4),
                   "entities_added": len(set(train.entities) - set(prev.entities)),
                   "entities_removed": len(set(prev.entities) - set(train.entities))}
    return prev, change_info


def on_vocabulary(graph: KGraph, rows: list[tuple[str, str, str]]) -> KGraph:
    """``rows`` whose entities and relation ``graph`` knows, in ``graph``'s vocabulary."""
    e, r = graph.entity_index(), graph.relation_index()
    return graph.with_triples(np.array([(e[h], r[t], e[o]) for h, t, o in rows if h in e and t in r and o in e],
                                       dtype=np.int64).reshape(-1, 3))


def row(kind: str, result: FitResult, ds: Dataset, **extra: Any) -> dict[str, Any]:
    start = time.perf_counter()
    metrics = evaluate(result.model, ds.test, known=ds.all_triples(), per_relation=False)
    return {"run": kind, "train_seconds": round(result.seconds, 2), "epochs": result.epochs,
            "best_epoch": result.best_epoch, "valid_mrr": result.best_valid_mrr,
            "test_mrr": round(metrics["mrr"], 4), "test_hits_at_10": round(metrics["hits_at_10"], 4),
            "test_hits_at_1": round(metrics["hits_at_1"], 4),
            "eval_seconds": round(time.perf_counter() - start, 2),
            "valid_curve": [round(h["valid_mrr"], 4) for h in result.history if "valid_mrr" in h], **extra}


def run_once(ds: Dataset, args: argparse.Namespace, seed: int, workdir: Path) -> list[dict[str, Any]]:
    prev, change = previous_graph(ds.train, args.change, args.new_entities, args.removed_entities, seed)
    prev_valid = on_vocabulary(prev, ds.valid.labeled_triples())
    settings = default_settings(ds.train, args.model)
    name = settings.pop("model")
    settings.update(threads=args.threads, progress=False)
    prev_settings = {k: v for k, v in default_settings(prev, args.model).items() if k != "model"}
    cold_prev = fit(name, prev, prev_valid, seed=seed, **prev_settings, threads=args.threads, progress=False)
    path = save_model(workdir / f"previous-{seed}.pt", cold_prev.model, prev)
    rows = [{"run": "previous", "graph": "previous", "train_seconds": round(cold_prev.seconds, 2),
             "epochs": cold_prev.epochs, "best_epoch": cold_prev.best_epoch,
             "valid_mrr": cold_prev.best_valid_mrr, **change}]
    full = fit(name, ds.train, ds.valid, seed=seed, **settings)
    rows.append(row("full", full, ds))
    reused, report = warm_start(load_model(path), ds.train, seed=seed)
    rows.append(row("reused", FitResult(model=reused.eval()), ds, warm_start=report.as_dict()))
    warm_settings = fine_tune_settings(settings, reused)
    warm, _ = fit_warm(load_model(path), ds.train, ds.valid, seed=seed, **settings)
    rows.append(row("warm", warm, ds, fine_tune_settings={k: v for k, v in warm_settings.items()
                                                          if isinstance(v, (int, float, str))}))
    for r in rows:
        r["seed"] = seed
        print(json.dumps(r), flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each measure per run kind, and warm / full ratios."""
    out: dict[str, Any] = {}
    for kind in ("full", "warm", "reused"):
        sel = [r for r in rows if r["run"] == kind]
        out[kind] = {k: round(float(np.mean([r[k] for r in sel])), 4)
                     for k in ("train_seconds", "epochs", "test_mrr", "test_hits_at_10")}
    out["warm_over_full"] = {"train_seconds": round(out["warm"]["train_seconds"] / out["full"]["train_seconds"], 3),
                             "test_mrr": round(out["warm"]["test_mrr"] / out["full"]["test_mrr"], 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default=str(DATASET))
    ap.add_argument("--model", default="default")
    ap.add_argument("--change", type=float, default=0.02, help="share of triples changed (half added, half removed)")
    ap.add_argument("--new-entities", type=int, default=10)
    ap.add_argument("--removed-entities", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1, help="runs with seeds 0, 1, ...")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    ds = read_dataset(args.dataset)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.repeats):
            rows += run_once(ds, args, seed, Path(tmp))
    report = {"benchmark": "warm_start", "date": dt.datetime.now().isoformat(timespec="seconds"),
              "dataset": ds.name, "machine": {"cpus": os.cpu_count(), "threads": args.threads,
                                              "platform": platform.platform(), "python": platform.python_version()},
              "command": " ".join(["warm_start.py"] + sys.argv[1:]), "results": rows, "summary": summarise(rows)}
    print(json.dumps(report["summary"]))
    out = Path(args.output) if args.output else ROOT / "benchmarks" / "results" / f"warm_start_{dt.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
