"""Reading triple files and dataset folders."""

from __future__ import annotations

import pytest

from kgcomplete import datasets
from kgcomplete.datasets import read_triples
from kgcomplete.errors import InputFileError


def test_malformed_line_names_file_and_line(tmp_path):
    f = tmp_path / "bad.tsv"
    f.write_text("a\tR\tb\n\nc\tR\n")
    with pytest.raises(InputFileError) as err:
        read_triples(f)
    assert str(err.value).startswith(f"{f}:3:") and "3 fields" in str(err.value)


def test_empty_field_and_non_utf8(tmp_path):
    f = tmp_path / "empty.tsv"
    f.write_text("a\t\tb\n")
    with pytest.raises(InputFileError, match=":1: empty"):
        read_triples(f)
    g = tmp_path / "latin1.tsv"
    g.write_bytes("caf\xe9\tR\tb\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="not UTF-8"):
        read_triples(g)
    with pytest.raises(InputFileError, match="no such file"):
        read_triples(tmp_path / "missing.tsv")


def test_csv_with_quotes(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text('"a, inc",R,"b ""q"""\n')
    assert read_triples(f) == [("a, inc", "R", 'b "q"')]


def test_sample_dataset_ships_with_the_package():
    ds = datasets.load("sample")
    assert ds.train.num_triples == 1592 and ds.train.labels == ["Country"]
    assert ds.train.entity_labels.all()


def test_codex_side_files():
    ds = datasets.load("codex-s")
    assert ds.train.num_triples == 32888 and ds.valid.num_triples == 1827 and ds.test.num_triples == 1828
    assert ds.train.relation_labels["P530"] == "diplomatic relation"
    assert "human" in ds.train.labels


@pytest.mark.parametrize("name, sizes", [("nations", (14, 55, 1592, 199, 201)), ("umls", (135, 46, 5216, 652, 661)),
                                         ("kinships", (104, 25, 8544, 1068, 1074)),
                                         ("codex-s", (2034, 42, 32888, 1827, 1828))])
def test_bundled_benchmarks_load_by_name_with_their_published_sizes(name, sizes):
    ds = datasets.load(name)
    assert (ds.train.num_entities, ds.train.num_relations, ds.train.num_triples, ds.valid.num_triples,
            ds.test.num_triples) == sizes
    assert (datasets.path(name) / "README.md").read_text().count("Licence") == 1


def test_a_path_loads_like_a_name(tmp_path):
    (tmp_path / "train.tsv").write_text("a\tR\tb\n")
    ds = datasets.load(tmp_path)
    assert ds.name == tmp_path.name and ds.train.num_triples == 1 and ds.test.num_triples == 0


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(InputFileError) as err:
        datasets.load("fb15k-237")
    assert "fb15k-237" in str(err.value) and "codex-s, kinships, nations, sample, umls" in str(err.value)
