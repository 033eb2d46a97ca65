"""The hostile-input corpus (tests/data/hostile/, its expectations in cases.json) through
`kgcomplete load` and an enrichment run (issue #21, items 3-5): every case is refused with
one line naming the file and line and nothing written, or stored verbatim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import count
from typer.testing import CliRunner

from kgcomplete.cli import app
from kgcomplete.config import ModelSettings, SuggestSettings
from kgcomplete.datasets import read_triples
from kgcomplete.db.load import LoadInput, load_path, load_triples
from kgcomplete.db.pull import pull
from kgcomplete.errors import ConfigError, GraphError, KGCompleteError, ReviewError

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"
CASES = json.loads((HOSTILE / "cases.json").read_text())
runner = CliRunner()


def env_for(settings) -> dict[str, str]:
    return {"NEO4J_URI": settings.neo4j.uri, "NEO4J_PASSWORD": settings.neo4j.password.get_secret_value()}


def written(driver) -> int:
    return count(driver, "MATCH (n) RETURN count(n)") + count(driver, "MATCH ()-[r]->() RETURN count(r)")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "refused" in c))
def test_refused_with_one_line_naming_file_and_line_and_nothing_written(driver, settings, name):
    case = CASES[name]
    res = runner.invoke(app, ["load", str(HOSTILE / name)], env=env_for(settings))
    assert res.exit_code == 1 and isinstance(res.exception, KGCompleteError), res.output
    message = str(res.exception)
    culprit = HOSTILE / name / case["file"] if "file" in case else HOSTILE / name
    where = f"{culprit}:{case['line']}:" if "line" in case else f"{culprit}:"
    assert message.startswith(where) and case["refused"] in message and "\n" not in message, message
    assert len(message) < 300
    assert written(driver) == 0


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "stored" in c))
def test_stored_verbatim(driver, settings, name):
    case = CASES[name]
    res = runner.invoke(app, ["load", str(HOSTILE / name)], env=env_for(settings))
    assert res.exit_code == 0, (res.output, res.exception)
    path = HOSTILE / name
    expected = {tuple(t) for t in case["triples"]} if "triples" in case else \
        set(read_triples(path / "train.tsv" if path.is_dir() else path))
    g = pull(driver, settings.graph, progress=False)
    assert set(g.labeled_triples()) == expected
    if path.is_dir():
        labels = {r["l"] for r in driver.execute_query(
            "MATCH (n:Entity) UNWIND labels(n) AS l WITH l WHERE l <> 'Entity' RETURN DISTINCT l").records}
        assert labels == {line.split("\t")[1] for line in (path / "types.tsv").read_text().splitlines()[1:]}


def test_a_ten_megabyte_type_is_refused_before_anything_is_written(driver, settings, tmp_path):
    f = tmp_path / "huge.tsv"
    f.write_text("a\tR\tb\n" * 100 + "a\t" + "T" * 10_000_000 + "\tb\n")
    res = runner.invoke(app, ["load", str(f)], env=env_for(settings))
    assert res.exit_code == 1 and str(res.exception).startswith(f"{f}:101: relationship type 'TTT")
    assert written(driver) == 0


def test_rows_built_in_code_are_checked_too(driver, settings):
    for bad in ([("a", "NUL\x00", "b")], [("a", "R" * 256, "b")], [("k" * 5000, "R", "b")], [("a", " ", "b")],
                [("a", "SUGGESTED", "b")]):
        with pytest.raises(GraphError):
            load_triples(driver, LoadInput(bad, {}, {}), settings.graph, progress=False)
    with pytest.raises(GraphError, match="label"):
        load_triples(driver, LoadInput([("a", "R", "b")], {"a": ["Bad\x00"]}, {}), settings.graph, progress=False)
    assert written(driver) == 0


@pytest.mark.parametrize("size", [0, -1])
def test_a_batch_size_below_one_is_refused(driver, settings, size):
    with pytest.raises(ConfigError, match=f"batch_size must be a positive number of rows, not {size}"):
        load_path(driver, HOSTILE / "injection.tsv", settings.graph, batch_size=size, progress=False)
    assert written(driver) == 0


def test_cli_bad_numbers_and_uris_are_one_line(driver, settings):
    env = env_for(settings)
    res = runner.invoke(app, ["load", str(HOSTILE / "injection.tsv"), "--batch-size", "-1"], env=env)
    assert res.exit_code == 2 and "--batch-size" in res.output and written(driver) == 0
    res = runner.invoke(app, ["review", "list", "--limit", "-5"], env=env)
    assert res.exit_code == 2 and "--limit" in res.output
    res = runner.invoke(app, ["review", "list", "--uri", settings.neo4j.uri + "/neo4j"], env=env)
    assert res.exit_code == 1 and isinstance(res.exception, ConfigError)
    assert "has a path ('/neo4j')" in str(res.exception) and "--database" in str(res.exception)


def test_library_limits_are_checked(driver):
    from kgcomplete.db.review import list_pending, runs

    for bad in (-5, 0):
        with pytest.raises(ReviewError, match=f"limit must be a positive number, not {bad}"):
            list_pending(driver, limit=bad)
        with pytest.raises(ReviewError, match="limit must be a positive number"):
            runs(driver, limit=bad)


def test_hostile_names_go_through_an_enrichment_run(driver, settings):
    """Stored hostile names (injection attempts, odd Unicode, odd labels) are pulled, trained
    on, suggested and written back as data; the canary survives."""
    from kgcomplete.jobs.enrich import enrich

    driver.execute_query("CREATE (:Canary {alive: true})")
    rows = [t for f in ("injection.tsv", "unicode.tsv") for t in read_triples(HOSTILE / f)]
    rows += [(h, r, t) for h, _, t in rows for r in ("x]->() DETACH DELETE n //", "we`ird")]   # some density
    load_triples(driver, LoadInput(rows, {}, {}), settings.graph, progress=False)
    s = settings.model_copy(deep=True)
    s.model = ModelSettings(name="complex", epochs=3, options={"dim": 8})
    s.suggest = SuggestSettings(top_k=3, min_probability=0.0, max_total=30)
    result = enrich(driver, s, progress=False)
    types = {r for _, r, _ in rows}
    assert result.report.written > 0 and {x.type for x in result.suggestions} <= types
    assert count(driver, "MATCH (c:Canary {alive: true}) RETURN count(c)") == 1
    assert count(driver, "MATCH ()-[s:SUGGESTED]->() WHERE NOT s.type IN $types RETURN count(s)", types=list(types)) == 0
