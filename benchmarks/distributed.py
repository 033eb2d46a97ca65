"""Training on 1 and 2 processes (torchrun, gloo, CPU): test MRR and seconds.

For each dataset and process count it runs the documented command::

    python -m torch.distributed.run --standalone --nproc-per-node N \\
        -m kgcomplete.training.distributed --dataset D --output model.pt --seed S

with ``OMP_NUM_THREADS=1`` per process, and records rank 0's JSON (test MRR, Hits@10,
epochs, training seconds), the wall seconds of the whole command (start-up included) and
the command line. Prints one JSON line per run and writes
``benchmarks/results/distributed_<date>.json`` (or ``--output``)::

    .venv/bin/python benchmarks/distributed.py --datasets nations,umls --processes 1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_once(dataset: str, processes: int, seed: int, epochs: int | None, tmp: Path) -> dict[str, Any]:
    """One torchrun launch; rank 0's result with the command and its wall seconds."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes),
               "-m", "kgcomplete.training.distributed", "--dataset", dataset, "--seed", str(seed),
               "--output", str(tmp / f"{dataset}_{processes}_{seed}.pt")]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shown = ["OMP_NUM_THREADS=1", "torchrun", *command[command.index("--standalone"):]]
    return {**result, "processes": processes, "wall_seconds": round(wall, 3), "command": " ".join(shown),
            "load_before": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="nations,umls")
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: sized to the graph)")
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                for n in (int(p) for p in args.processes.split(",")):
                    rows.append(run_once(dataset, n, seed, args.epochs, Path(tmp)))
                    print(json.dumps({k: rows[-1][k] for k in ("dataset", "processes", "seed", "mrr", "hits_at_10",
                                                               "epochs", "train_seconds", "wall_seconds")}), flush=True)
    report = {"benchmark": "distributed", "date": dt.datetime.now().isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "threads_per_process": 1, "platform": platform.platform(),
                          "python": platform.python_version()},
              "command": " ".join(["distributed.py"] + sys.argv[1:]), "results": rows}
    out = Path(args.output) if args.output else ROOT / "benchmarks" / "results" / f"distributed_{dt.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
