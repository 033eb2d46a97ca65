"""Link-prediction benchmark: kgcomplete's default and models against PyKEEN, same run.

For every dataset folder it trains and evaluates (filtered, realistic ranks, both
directions, test split) our default (``evaluate_dataset(path)``) and any other named
models, then PyKEEN RotatE (sLCWA, self-adversarial negative-sampling loss ``NSSALoss``,
dim 200, 32 negatives per positive) and PyKEEN ComplEx with its own defaults, and prints
one JSON object per (dataset, system, model) as it finishes, then one summary object with
the ratios ours / PyKEEN (MRR and training seconds) per dataset.

PyKEEN is an optional *benchmark* dependency, never a runtime one. It runs in a
subprocess with the Python given by ``--pykeen-python`` (default: this interpreter), so
it can live in its own virtual environment::

    python3 -m venv /tmp/pykeen-venv && /tmp/pykeen-venv/bin/pip install pykeen
    python benchmarks/link_prediction.py --datasets nations,umls \\
        --pykeen-python /tmp/pykeen-venv/bin/python --output benchmarks/results/lp.json

When that Python cannot import pykeen, its rows say ``"skipped"`` with the reason. Both
systems run with the same number of torch threads (``--threads``, default: all idle cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kgcomplete import datasets
from kgcomplete.evaluation.pipeline import pipeline
from kgcomplete.models import MODELS
from kgcomplete.training.loop import default_threads

# Runs inside the PyKEEN interpreter; reads a JSON job from argv, prints a JSON result.
PYKEEN_JOB = r"""
import json, sys, time
job = json.loads(sys.argv[1])
import torch
torch.set_num_threads(job["threads"])
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory
d = job["dir"]
train = TriplesFactory.from_path(f"{d}/train.tsv")
kw = dict(entity_to_id=train.entity_to_id, relation_to_id=train.relation_to_id)
valid = TriplesFactory.from_path(f"{d}/valid.tsv", **kw)
test = TriplesFactory.from_path(f"{d}/test.tsv", **kw)
if job["model"] == "rotate":
    cfg = dict(model="RotatE", model_kwargs=dict(embedding_dim=200), training_loop="sLCWA", loss="NSSALoss",
               negative_sampler="basic", negative_sampler_kwargs=dict(num_negs_per_pos=32))
else:
    cfg = dict(model="ComplEx")
start = time.perf_counter()
res = pipeline(training=train, validation=valid, testing=test, random_seed=job["seed"], device="cpu",
               training_kwargs=dict(num_epochs=job["epochs"], use_tqdm=False), **cfg)
total = time.perf_counter() - start
m = res.metric_results
print(json.dumps(dict(mrr=float(m.get_metric("both.realistic.inverse_harmonic_mean_rank")),
                      hits_at_1=float(m.get_metric("both.realistic.hits_at_1")),
                      hits_at_3=float(m.get_metric("both.realistic.hits_at_3")),
                      hits_at_10=float(m.get_metric("both.realistic.hits_at_10")),
                      train_seconds=float(res.train_seconds), eval_seconds=float(res.evaluate_seconds),
                      total_seconds=total, pykeen_version=__import__("pykeen").get_version())))
"""


def run_pykeen(python: str, folder: Path, model: str, epochs: int, threads: int, seed: int,
               timeout: float) -> dict:
    """One PyKEEN run in a subprocess; ``{"skipped": reason}`` when it cannot run."""
    job = json.dumps(dict(dir=str(folder), model=model, epochs=epochs, threads=threads, seed=seed))
    try:
        probe = subprocess.run([python, "-c", "import pykeen"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"skipped": f"cannot run {python}: {e}"}
    if probe.returncode != 0:
        return {"skipped": f"pykeen is not importable by {python}"}
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        out = subprocess.run([python, "-c", PYKEEN_JOB, job], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"skipped": "pykeen failed: " + out.stderr.strip().splitlines()[-1][:300]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="nations,umls,kinships,codex-s",
                    help="comma-separated bundled names or dataset folders (e.g. a copy of wn18rr)")
    ap.add_argument("--models", default="default",
                    help=f"comma-separated: default, all, or any of {', '.join(MODELS)}")
    ap.add_argument("--epochs", type=int, default=None, help="max epochs for our models (default: tuned)")
    ap.add_argument("--pykeen-python", default=sys.executable, help="interpreter that can import pykeen")
    ap.add_argument("--pykeen-models", default="rotate,complex", help="rotate, complex, or none")
    ap.add_argument("--pykeen-epochs", type=int, default=100)
    ap.add_argument("--pykeen-timeout", type=float, default=3600.0, help="seconds per PyKEEN run")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for both systems")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", type=Path, default=None, help="also write the summary JSON here")
    args = ap.parse_args(argv)

    threads = args.threads or default_threads()
    models = list(MODELS) if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    pykeen_models = [] if args.pykeen_models == "none" else args.pykeen_models.split(",")
    rows: list[dict] = []

    def emit(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    for name in args.datasets.split(","):
        folder = datasets.path(name)
        for model in models:
            start = time.perf_counter()
            out = pipeline(folder, model=model, epochs=args.epochs, seed=args.seed, threads=threads).as_dict()
            emit({"system": "kgcomplete", "requested": model, **out, "total_seconds": time.perf_counter() - start})
        for model in pykeen_models:
            res = run_pykeen(args.pykeen_python, folder, model, args.pykeen_epochs, threads, args.seed,
                             args.pykeen_timeout)
            emit({"system": "pykeen", "dataset": folder.name, "model": model, "epochs": args.pykeen_epochs, **res})

    summary = {"benchmark": "link_prediction", "date": dt.datetime.now().isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "threads": threads, "platform": platform.platform(),
                           "python": platform.python_version()},
               "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
               "results": rows, "comparisons": compare(rows)}
    print(json.dumps({"comparisons": summary["comparisons"]}), flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def compare(rows: list[dict]) -> list[dict]:
    """Ours / PyKEEN per dataset: each of our models against PyKEEN's best MRR."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        theirs = [r for r in rows if r["dataset"] == ds and r["system"] == "pykeen" and "mrr" in r]
        if not theirs:
            continue
        best = max(theirs, key=lambda r: r["mrr"])
        for ours in (r for r in rows if r["dataset"] == ds and r["system"] == "kgcomplete"):
            out.append({"dataset": ds, "ours": ours["requested"], "ours_model": ours["model"],
                        "pykeen_best": best["model"], "ours_mrr": ours["mrr"], "pykeen_mrr": best["mrr"],
                        "mrr_ratio": ours["mrr"] / best["mrr"],
                        "ours_train_seconds": ours["train_seconds"], "pykeen_train_seconds": best["train_seconds"],
                        "train_seconds_ratio": ours["train_seconds"] / best["train_seconds"],
                        "beats_pykeen_in_a_fifth_of_the_time": ours["mrr"] >= best["mrr"]
                        and ours["train_seconds"] <= best["train_seconds"] / 5})
    return out


if __name__ == "__main__":
    main()
