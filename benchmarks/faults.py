"""Fault benchmark: kill enrichment runs at random points of their writeback, N times per
kind, and check what the database says afterwards, as JSON.

Kinds: ``manual`` (kill -9 of `kgcomplete enrich`), ``scheduled`` (kill -9 of `kgcomplete
schedule --once`), ``server`` (kill -9 of Neo4j itself, then a restart). Each kill lands after
a random number of the run's suggestions committed (uniform over the writeback, plus up to
20 ms), with writeback batches of ``--batch`` suggestions, two in flight. Then the next run
recovers: it waits for the dead run's lock to expire (TTL ``--ttl`` s), takes it, marks the
dead run failed and folds its writeback ledger, and stops there. Per kill the audit counts
duplicated suggestions, suggestions committed but not recorded in the run's counter (lost)
or recorded but not committed (phantom), runs whose counter is wrong, runs whose final status
is false (still running, or completed though killed), and a lock held more than 3 s past its
expiry; and the time from the kill until the next run had recovered. After each kind one
more run completes in full and is audited too. Targets: every kill survived, zeros elsewhere.

Everything runs on a fresh local Neo4j on free ports (stopped at the end), on nations.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/faults.py [--kills 20] [--kinds manual,scheduled,server]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fault_injection import (
    JOB,
    WRITING,
    Client,
    audit,
    committed,
    kill9_server,
    query,
    reset_suggestions,
    running_run,
    write_config,
)

from kgcomplete.config import load_settings
from kgcomplete.datasets import path as dataset_path
from kgcomplete.db.connect import connect
from kgcomplete.db.load import load_path
from kgcomplete.errors import Stopped
from kgcomplete.jobs.enrich import MANUAL_LOCK, enrich
from kgcomplete.server.local import LocalNeo4j, free_port

PASSWORD = "faults-benchmark-password"


def recover(driver, settings, kind: str, ttl: float) -> tuple[float, str]:
    """The next run: wait for the lock, start (marking the dead run failed, folding its ledger),
    stop. Returns the seconds until it had started and its run id."""
    t0 = time.monotonic()
    started: dict[str, Any] = {}

    def on_start(run_id: str) -> None:
        started.update(id=run_id, at=time.monotonic())

    try:
        enrich(driver, settings, job=JOB if kind == "scheduled" else None, progress=False, wait=True, lock_ttl=ttl,
               on_run_started=on_start, should_stop=lambda: "id" in started)
    except Stopped:
        pass
    return started["at"] - t0, started["id"]


def one_kill(driver, server: LocalNeo4j, settings, config: Path, kind: str, target: int, jitter: float,
             ttl: float) -> dict[str, Any] | None:
    """One client run killed after ``target`` committed suggestions (+ ``jitter`` s); None if
    it finished before the kill landed."""
    reset_suggestions(driver)
    client = Client("scheduled" if kind == "scheduled" else "manual", server.bolt_uri, PASSWORD, config, ttl=ttl)
    if not client.wait_for(WRITING):
        client.finish()
        return None
    run = running_run(driver)
    seen = 0
    while client.proc.poll() is None and run is not None and (seen := committed(driver, run)) < target:
        time.sleep(0.005)
    time.sleep(jitter)
    if client.proc.poll() is not None or run is None:
        client.finish()
        return None
    lock = JOB if kind == "scheduled" else MANUAL_LOCK
    if kind == "server":
        kill9_server(server)
        t_kill = time.monotonic()
        server.start()
        code = client.finish()   # it fails (or completes, if its retries outlast the restart)
    else:
        client.kill9()
        t_kill = time.monotonic()
        code = -9
    expires = query(driver, "MATCH (l:KGCLock {name: $n}) RETURN l.expires_at AS e", n=lock)[0]["e"]
    waited, _ = recover(driver, settings, kind, ttl)
    seconds = time.monotonic() - t_kill
    acquired = query(driver, "MATCH (l:KGCLock {name: $n}) RETURN l.acquired_at AS a", n=lock)[0]["a"]
    report = audit(driver)
    killed = next(r for r in report["runs"] if r["id"] == run)
    # how long the dead client's lock outlived its expiry before the next run took it
    overrun = max(0.0, (acquired.to_native() - expires.to_native()).total_seconds()) if expires is not None else 0.0
    untruthful = sum(1 for r in report["runs"] if r["status"] == "running") + \
        ((killed["status"] == "completed") != (code == 0))
    return {
        "kind": kind, "target": target, "committed_seen_before_kill": seen, "committed": killed["committed"],
        "recorded": killed["written"],
        "status": killed["status"], "error": killed["error"], "duplicates": report["duplicates"],
        "lost": report["lost"], "phantom": report["phantom"], "wrong_counters": report["wrong_counters"],
        "untruthful": untruthful, "client_exit": code,
        "lock_overrun_seconds": round(overrun, 2), "recover_seconds": round(seconds, 2),
        "next_run_waited_seconds": round(waited, 2), "client_output_tail": client.lines[-1:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20, help="kills per kind")
    ap.add_argument("--kinds", default="manual,scheduled,server")
    ap.add_argument("--max-total", type=int, default=300, help="suggestions per run")
    ap.add_argument("--batch", type=int, default=10, help="suggestions per writeback transaction")
    ap.add_argument("--ttl", type=float, default=5.0, help="lock TTL (a killed client's lock outlives it so long)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON file (default: benchmarks/results/faults_<date>.json)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # stopped: the server is still stopped, the JSON kept
    rng = np.random.default_rng(args.seed)
    kinds = args.kinds.split(",")
    out: dict[str, Any] = {"command": "OMP_NUM_THREADS=1 python benchmarks/faults.py " + " ".join(sys.argv[1:]),
                           "date": date.today().isoformat(), "kills_per_kind_asked": args.kills,
                           "max_total": args.max_total, "batch": args.batch, "lock_ttl": args.ttl, "seed": args.seed,
                           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_before": os.getloadavg()}
    target_path = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"faults_{date.today().isoformat()}.json"
    out["kinds"] = {}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kgc-faults-") as home:
        server = LocalNeo4j(Path(home) / "neo4j", bolt_port=free_port(), http_port=free_port(), password=PASSWORD,
                            heap="1g", pagecache="256m")
        server.start()
        try:
            config = write_config(Path(home), max_total=args.max_total, batch=args.batch, ttl=args.ttl)
            settings = load_settings(config, env={}, neo4j={"uri": server.bolt_uri, "password": PASSWORD})
            driver = connect(settings.neo4j)
            load_path(driver, dataset_path("nations"), settings.graph, progress=False)
            # a full run first: how many suggestions a run writes (kill points are drawn below that)
            full = enrich(driver, settings, progress=False, lock_ttl=args.ttl)
            total = full.report.written
            out["suggestions_per_run"] = total
            for kind in kinds:
                kills: list[dict[str, Any]] = []
                attempts = 0
                while len(kills) < args.kills and attempts < 3 * args.kills:
                    attempts += 1
                    target = int(rng.integers(0, total))
                    result = one_kill(driver, server, settings, config, kind, target, float(rng.uniform(0, 0.02)),
                                      args.ttl)
                    if result is not None:
                        kills.append(result)
                        print(json.dumps(result), file=sys.stderr, flush=True)
                    out["kinds"][kind] = summary(kills, attempts, None)
                    save(out, target_path, complete=False)   # a stopped benchmark keeps what it measured
                reset_suggestions(driver)
                final = enrich(driver, settings, job=JOB if kind == "scheduled" else None, progress=False,
                               lock_ttl=args.ttl)
                final_audit = audit(driver)
                final_audit["status"] = next(r["status"] for r in final_audit["runs"] if r["id"] == final.run_id)
                final_audit["written"] = final.report.written
                out["kinds"][kind] = summary(kills, attempts, final_audit)
                save(out, target_path, complete=False)
            driver.close()
        finally:
            server.stop()
    out["seconds"] = round(time.monotonic() - t_start, 1)
    out["load_after"] = os.getloadavg()
    print(save(out, target_path, complete=True))


def summary(kills: list[dict[str, Any]], attempts: int, final: dict[str, Any] | None) -> dict[str, Any]:
    """One kind's figures: kills landed during writeback, survived, and the sums of the audit
    (the kills' and, once it ran, the final full run's)."""
    final = final or {"duplicates": 0, "lost": 0, "phantom": 0, "wrong_counters": 0}
    recover_s = [k["recover_seconds"] for k in kills]
    survived = [k for k in kills if k["duplicates"] == k["lost"] == k["phantom"] == k["wrong_counters"]
                == k["untruthful"] == 0 and k["lock_overrun_seconds"] <= 3.0]
    return {
        "kills": len(kills), "attempts": attempts, "survived": len(survived),
        "duplicates": sum(k["duplicates"] for k in kills) + final["duplicates"],
        "lost": sum(k["lost"] for k in kills) + final["lost"],
        "phantom": sum(k["phantom"] for k in kills) + final["phantom"],
        "wrong_counters": sum(k["wrong_counters"] for k in kills) + final["wrong_counters"],
        "untruthful_status": sum(k["untruthful"] for k in kills),
        "locks_past_expiry": sum(1 for k in kills if k["lock_overrun_seconds"] > 3.0),
        "recover_seconds_median": round(statistics.median(recover_s), 2) if recover_s else None,
        "recover_seconds_max": max(recover_s) if recover_s else None,
        "committed_seen_before_kill": sorted(k["committed_seen_before_kill"] for k in kills),
        "final_run": {"status": final.get("status"), "written": final.get("written")},
        "each": kills,
    }


def save(out: dict[str, Any], path: Path, *, complete: bool) -> str:
    """Write the JSON (totals over the kinds so far); returns its text."""
    out["complete"] = complete
    out["totals"] = {k: sum(v[k] for v in out["kinds"].values())
                     for k in ("kills", "survived", "duplicates", "lost", "phantom", "wrong_counters",
                               "untruthful_status", "locks_past_expiry")}
    text = json.dumps(out, indent=1, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
