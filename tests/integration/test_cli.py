"""The CLI, in-process: load, pull, and one clear line for every failure."""

from __future__ import annotations

import subprocess
import sys

from conftest import count, free_port
from typer.testing import CliRunner

from kgcomplete.cli import app
from kgcomplete.evaluation.pipeline import RESULT_KEYS
from kgcomplete.graph import KGraph

runner = CliRunner()


def env_for(settings) -> dict[str, str]:
    return {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value()}


def test_load_then_pull(driver, settings, datasets_dir, tmp_path):
    res = runner.invoke(app, ["load", str(datasets_dir / "nations"), "--splits", "train,valid"], env=env_for(settings))
    assert res.exit_code == 0, res.output
    assert "created 14 nodes" in res.output
    assert count(driver, "MATCH ()-[r]->() RETURN count(r)") == 1592 + 199
    out = tmp_path / "snap.npz"
    res = runner.invoke(app, ["pull", "--out", str(out), "--seeds", "usa", "--hops", "1", "--fan-out", "3"],
                        env=env_for(settings))
    assert res.exit_code == 0, res.output
    g = KGraph.load(out)
    assert "usa" in g.entities and g.num_entities == 4


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgcomplete.cli", *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, timeout=120)


def test_unreachable_server_is_one_line(tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tR\tb\n")
    proc = _run_cli(["load", str(f)], {"NEO4J_URI": f"bolt://127.0.0.1:{free_port()}", "NEO4J_PASSWORD": "x"})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: cannot reach Neo4j")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_wrong_password_is_one_line_and_not_echoed(settings, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tR\tb\n")
    proc = _run_cli(["load", str(f)], {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": "wrong-pass-123"})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "refused the credentials" in proc.stderr
    assert "wrong-pass-123" not in proc.stderr + proc.stdout


def test_malformed_file_is_one_line(settings, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tR\n")
    proc = _run_cli(["load", str(f)], env_for(settings))
    assert proc.returncode == 1 and proc.stderr.strip() == f"error: {f}:1: expected 3 fields (head, relation, tail), found 2"


def test_bad_config_names_the_key(tmp_path):
    cfg = tmp_path / "kgcomplete.toml"
    cfg.write_text('[graph]\nkey_propery = "uid"\n')
    proc = _run_cli(["--config", str(cfg), "pull", "--out", str(tmp_path / "x.npz")], {})
    assert proc.returncode == 1 and "graph.key_propery" in proc.stderr and str(cfg) in proc.stderr


def test_evaluate_json(tmp_path):
    import json

    folder = tmp_path / "toy"
    folder.mkdir()
    rows = [(f"e{i}", "NEXT", f"e{(i + 1) % 12}") for i in range(12)] + [(f"e{i}", "PREV", f"e{(i - 1) % 12}") for i in range(12)]
    (folder / "train.tsv").write_text("".join("\t".join(r) + "\n" for r in rows[:-2]))
    (folder / "valid.tsv").write_text("\t".join(rows[-2]) + "\n")
    (folder / "test.tsv").write_text("\t".join(rows[-1]) + "\n")
    res = runner.invoke(app, ["evaluate", str(folder), "--epochs", "5", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)   # stdout holds the JSON alone; progress and settings went to stderr
    assert list(out) == list(RESULT_KEYS)
    assert out["dataset"] == "toy" and 0 < out["mrr"] <= 1 and out["epochs"] <= 5
    assert out["stop_reason"] == "max_epochs" and out["settings"]["epochs"] == 5
    assert "training complex on toy" in res.stderr and "epoch" in res.stderr   # settings line, progress bar


def test_demo_runs_the_loop_on_its_own_server(tmp_path, monkeypatch):
    from kgcomplete.server.demo import run_demo
    from kgcomplete.server.local import LocalNeo4j

    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    bolt, http = free_port(), free_port()
    lines: list[str] = []
    try:
        run_demo(home=tmp_path / "neo4j", bolt_port=bolt, http_port=http, echo=lines.append)
        # `neo4j status` reports the ports this instance was started on, not the defaults
        status = runner.invoke(app, ["neo4j", "status", "--dir", str(tmp_path / "neo4j")])
        assert status.exit_code == 0, status.output
        assert f"bolt://127.0.0.1:{bolt}" in status.output and f"127.0.0.1:{http}/browser/" in status.output
        assert "7687" not in status.output.replace(str(bolt), "") and ":7474" not in status.output
    finally:
        LocalNeo4j(tmp_path / "neo4j").stop()
    text = "\n".join(lines)
    assert f"bolt://127.0.0.1:{bolt}" in text and "created 14 nodes" in text
    assert "new suggestions" in text and "because" in text and f"127.0.0.1:{http}/browser/" in text
    assert (tmp_path / "neo4j" / "kgcomplete-local.json").stat().st_mode & 0o077 == 0  # password file private
