"""The notebooks run top to bottom against the session's real Neo4j, so they never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kgcomplete import datasets
from kgcomplete.db.load import load_path
from kgcomplete.db.write import suggestion_id, write_suggestions
from kgcomplete.records import Suggestion

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, monkeypatch, **env: str) -> nbformat.NotebookNode:
    for key, value in env.items():
        monkeypatch.setenv(key, value)   # the kernel inherits the environment
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


def test_quickstart(driver, settings, monkeypatch):
    # someone else's pending suggestion, the most probable on the server: the notebook must leave it alone
    load_path(driver, datasets.path("sample"), settings.graph, progress=False)
    theirs = Suggestion("usa", "embassy", "cuba", score=9.0, probability=0.999, rank=1, evidence=["an analyst's"])
    write_suggestions(driver, "someone-else", [theirs], settings.graph, progress=False)
    nb = execute("quickstart.ipynb", monkeypatch, NEO4J_URI=settings.neo4j.uri,
                 NEO4J_PASSWORD=settings.neo4j.password.get_secret_value())
    assert images(nb) == 2  # training curve and probability histogram
    records, _, _ = driver.execute_query("MATCH ()-[s:SUGGESTED]->() RETURN s.status AS st, count(*) AS n")
    by_status = {r["st"]: r["n"] for r in records}
    assert by_status.get("accepted") == 1 and by_status.get("rejected") == 1 and by_status.get("pending", 0) > 0
    records, _, _ = driver.execute_query("MATCH ()-[s:SUGGESTED {id: $id}]->() RETURN s.status AS st, s.run_id AS run",
                                         id=suggestion_id("usa", "embassy", "cuba"))
    assert [r.data() for r in records] == [{"st": "pending", "run": "someone-else"}]


def test_model_comparison(monkeypatch):
    nb = execute("model_comparison.ipynb", monkeypatch, KGC_MAX_SECONDS="8")
    assert images(nb) == 1
    table = next(out for out in nb.cells[2].outputs if "text/html" in out.get("data", {}))
    for model in ("complex", "rgcn", "vgae", "path_rules"):
        assert f">{model}<" in table["data"]["text/html"]


@pytest.mark.parametrize("name", ["quickstart.ipynb", "model_comparison.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
