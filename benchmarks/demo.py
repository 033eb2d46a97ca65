"""Demo benchmark: wall seconds of `kgcomplete demo` (what `make demo` runs), as JSON.

Runs the CLI twice in one fresh instance folder on free ports: ``cold`` starts a new Neo4j
(initial password, first start), ``warm`` finds that server running, as a second `make
demo` does. Each run is the whole command: Python start and imports, loading the sample
graph, one enrichment (link predictor, calibration, suggestions with evidence, writeback,
node generator, proposed entities) and the summary. Target: under 90 s after set-up (the
venv and the Neo4j jars cached). The server is stopped at the end.

Usage:
    python benchmarks/demo.py [--runs cold,warm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from kgcomplete.server.local import LocalNeo4j, free_port

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("kgcomplete")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="cold,warm", help="which runs, in order: cold (a new server), warm")
    args = ap.parse_args()
    load_before = os.getloadavg()
    out: dict = {"command": "python benchmarks/demo.py --runs " + args.runs, "load_before": load_before,
                 "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    with tempfile.TemporaryDirectory(prefix="kgc-demo-") as home:
        bolt, http = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        try:
            for name in args.runs.split(","):
                start = time.perf_counter()
                proc = subprocess.run([str(CLI), "demo", "--dir", home, "--bolt-port", str(bolt),
                                       "--http-port", str(http)], capture_output=True, text=True, env=env, cwd=ROOT)
                seconds = time.perf_counter() - start
                if proc.returncode != 0:
                    sys.exit(f"demo failed ({name}):\n{proc.stderr[-2000:]}")
                out[f"{name}_seconds"] = round(seconds, 1)
                out[f"{name}_lines"] = [ln for ln in proc.stdout.splitlines()
                                        if ln.startswith(("sample graph", "pulled", "trained", "calibrated", "generator",
                                                          "run ", "new entities", "Neo4j"))]
        finally:
            LocalNeo4j(home).stop()
    out["load_after"] = os.getloadavg()
    out["target_seconds"] = 90
    text = json.dumps(out, indent=1)
    print(text)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"demo_{date.today().isoformat()}_{args.runs.replace(',', '_')}.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
