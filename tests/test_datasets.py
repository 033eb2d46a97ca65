"""Reading triple files and dataset folders."""

from __future__ import annotations

import pytest

from kgcomplete.datasets import load_dataset, read_triples, sample_dataset_dir
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
    ds = load_dataset(sample_dataset_dir())
    assert ds.train.num_triples == 1592 and ds.train.labels == ["Country"]
    assert ds.train.entity_labels.all()


def test_codex_side_files(datasets_dir):
    ds = load_dataset(datasets_dir / "codex-s")
    assert ds.train.num_triples == 32888 and ds.valid.num_triples == 1827 and ds.test.num_triples == 1828
    assert ds.train.relation_labels["P530"] == "diplomatic relation"
    assert "human" in ds.train.labels
