"""The README's Python example runs as written, against the test session's Neo4j."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import count

README = Path(__file__).resolve().parents[2] / "README.md"


def python_example() -> str:
    section = README.read_text().split("## From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs(driver, settings, monkeypatch, capsys):
    monkeypatch.setenv("NEO4J_URI", settings.neo4j.uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j.password.get_secret_value())
    monkeypatch.delenv("NEO4J_DATABASE", raising=False)
    exec(compile(python_example(), str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "nations / complex: MRR" in out and "new suggestions" in out
    assert count(driver, "MATCH ()-[s:SUGGESTED {status: 'accepted'}]->() RETURN count(s)") == 1
    assert count(driver, "MATCH ()-[s:SUGGESTED {status: 'rejected'}]->() RETURN count(s)") == 1
    assert count(driver, "MATCH ()-[r]->() WHERE r.kgc_suggestion IS NOT NULL RETURN count(r)") == 1
