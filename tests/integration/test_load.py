"""Loading triple files into a real Neo4j: round trips, idempotence, bad input, odd names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import count

from kgcomplete.config import GraphSettings
from kgcomplete.datasets import read_table, read_triples
from kgcomplete.db.load import load_path
from kgcomplete.db.pull import pull
from kgcomplete.errors import ConfigError, InputFileError

ODD = ["we`ird", "it's", 'say "hi"', "{braces}", "with space", "Ünïcödé → 関係", "/film/film/genre",
       "_hypernym", "P31", "x]->() DETACH DELETE n //", "a`) MATCH (m) DETACH DELETE m //"]


def expected_counts(folder: Path, splits: list[str]) -> tuple[int, int, int]:
    rows = {t for s in splits for t in read_triples(folder / f"{s}.tsv")}
    entities = {x for h, _, t in rows for x in (h, t)}
    labels = 0
    if (folder / "entity_types.tsv").exists():
        names = {r[0]: r[1] for r in read_table(folder / "types.tsv", 2)}
        labels = len({names.get(r[1], r[1]) for r in read_table(folder / "entity_types.tsv", 2) if r[0] in entities})
    return len(entities), len(rows), labels


@pytest.mark.parametrize("name", ["nations", "umls", "kinships", "codex-s"])
def test_round_trip_every_dataset(driver, settings, datasets_dir, name):
    folder = datasets_dir / name
    splits = ["train", "valid", "test"] if name in ("nations", "codex-s") else ["train"]
    n_nodes, n_rels, n_labels = expected_counts(folder, splits)
    report = load_path(driver, folder, settings.graph, splits=splits, progress=False)
    assert report.nodes_created == n_nodes and report.relationships_created == n_rels
    assert count(driver, "MATCH (n:Entity) RETURN count(n)") == n_nodes
    assert count(driver, "MATCH (:Entity)-[r]->(:Entity) RETURN count(r)") == n_rels
    db_labels = count(driver, "MATCH (n:Entity) UNWIND labels(n) AS l WITH DISTINCT l WHERE l <> 'Entity' RETURN count(l)")
    assert db_labels == n_labels
    g = pull(driver, settings.graph, progress=False)
    assert g.num_entities == n_nodes and g.num_triples == n_rels and len(g.labels) == n_labels
    assert set(g.labeled_triples()) == {t for s in splits for t in read_triples(folder / f"{s}.tsv")}


def test_load_is_idempotent(driver, settings, datasets_dir):
    folder = datasets_dir / "codex-s"
    first = load_path(driver, folder, settings.graph, progress=False)
    before = [count(driver, q) for q in ("MATCH (n) RETURN count(n)", "MATCH ()-[r]->() RETURN count(r)",
                                         "MATCH (n) RETURN sum(size(labels(n)))")]
    second = load_path(driver, folder, settings.graph, progress=False)
    after = [count(driver, q) for q in ("MATCH (n) RETURN count(n)", "MATCH ()-[r]->() RETURN count(r)",
                                        "MATCH (n) RETURN sum(size(labels(n)))")]
    assert first.relationships_created == 32888
    assert (second.nodes_created, second.relationships_created, second.labels_added) == (0, 0, 0)
    assert before == after
    # relation names are kept
    assert count(driver, "MATCH (t:KGCRelationType {type: 'P530'}) WHERE t.name = 'diplomatic relation' RETURN count(t)") == 1
    assert count(driver, "MATCH ()-[r:P530]->() WHERE r.name <> 'diplomatic relation' RETURN count(r)") == 0


def test_malformed_line_writes_nothing(driver, settings, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tR\tb\n" * 5 + "c\tR\td\textra\n")
    with pytest.raises(InputFileError, match=f"{f}:6"):
        load_path(driver, f, settings.graph, progress=False)
    assert count(driver, "MATCH (n) RETURN count(n)") == 0


def test_odd_names_are_stored_verbatim(driver, settings, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    rows = [(f"{ODD[i]}", ODD[(i + 3) % len(ODD)], f"{ODD[(i + 1) % len(ODD)]}") for i in range(len(ODD))]
    (folder / "train.tsv").write_text("".join("\t".join(r) + "\n" for r in rows))
    (folder / "entity_types.tsv").write_text("entity\ttype\n" + "".join(f"{ODD[i]}\tT{i}\n" for i in range(len(ODD))))
    (folder / "types.tsv").write_text("type\tlabel\n" + "".join(f"T{i}\t{ODD[i]}\n" for i in range(len(ODD))))
    load_path(driver, folder, settings.graph, progress=False)
    load_path(driver, folder, settings.graph, progress=False)  # and again: still no duplicates
    types = {r[0] for r in driver.execute_query("MATCH ()-[r]->() RETURN type(r)", database_="neo4j").records}
    labels = {r[0] for r in driver.execute_query("MATCH (n) UNWIND labels(n) AS l RETURN DISTINCT l",
                                                 database_="neo4j").records}
    assert types == {r for _, r, _ in rows}
    assert labels == set(ODD) | {"Entity"}
    assert count(driver, "MATCH (n) RETURN count(n)") == len(ODD)  # nothing deleted by an "injection"
    assert count(driver, "MATCH ()-[r]->() RETURN count(r)") == len(rows)
    assert set(pull(driver, settings.graph, progress=False).labeled_triples()) == set(rows)


def test_odd_base_label_and_key_property(driver, settings, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tR\tb\nb\tS\tc\n")
    graph = GraphSettings(base_label="My `Thing` é", key_property="the key`)", name_property="nm")
    load_path(driver, f, graph, progress=False)
    assert count(driver, "MATCH (n:`My ``Thing`` é`) WHERE n.`the key``)` IS NOT NULL RETURN count(n)") == 3
    g = pull(driver, graph, progress=False)
    assert sorted(g.entities) == ["a", "b", "c"] and g.num_triples == 2


def test_reserved_names_are_refused(driver, settings, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tSUGGESTED\tb\n")
    with pytest.raises(InputFileError, match=f"{f}:1: .*reserved"):
        load_path(driver, f, settings.graph, progress=False)
    assert count(driver, "MATCH (n) RETURN count(n)") == 0


def test_unknown_split_is_refused(driver, settings, datasets_dir):
    with pytest.raises(ConfigError, match="unknown split 'tran'"):
        load_path(driver, datasets_dir / "nations", settings.graph, splits=["tran"], progress=False)
