"""Datasets: the small public benchmarks bundled with kgcomplete, or any folder of triples.

A dataset is named by a bundled name or given as a path (a folder in the layout of the
standard benchmarks, see :mod:`kgcomplete.datasets.files`). Bundled, with their sources and
licences in ``kgcomplete/datasets/data/<name>/README.md``:

========== ======== ========= ============================ =====================================
name       entities relations train / valid / test          notes
========== ======== ========= ============================ =====================================
nations    14       55        1,592 / 199 / 201             countries; readable names
sample     14       55        1,592 / 199 / 201             nations with the label ``Country``
umls       135      46        5,216 / 652 / 661             biomedical concept types
kinships   104      25        8,544 / 1,068 / 1,074         Alyawarra kinship terms
codex-s    2,034    42        32,888 / 1,827 / 1,828        Wikidata; labels and names
========== ======== ========= ============================ =====================================

Larger graphs (wn18rr and up) are read from a path.

Example:
    >>> ds = load("umls")
    >>> ds.name, ds.train.num_entities
    ('umls', 135)
    >>> names()
    ['codex-s', 'kinships', 'nations', 'sample', 'umls']
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from kgcomplete.datasets.files import (
    SPLITS,
    Dataset,
    read_dataset,
    read_entity_labels,
    read_relation_names,
    read_table,
    read_triples,
)
from kgcomplete.errors import InputFileError

DATA_DIR = Path(__file__).resolve().with_name("data")


def names() -> list[str]:
    """The bundled datasets' names."""
    return sorted(p.name for p in DATA_DIR.iterdir() if (p / "train.tsv").is_file())


def path(name: str | Path) -> Path:
    """The folder of a bundled dataset, or ``name`` itself if it is an existing path.

    Raises:
        InputFileError: neither a bundled name nor an existing file or folder; the message
            lists the bundled names.
    """
    if isinstance(name, str) and name in names():
        return DATA_DIR / name
    given = Path(name).expanduser()
    if given.exists():
        return given
    raise InputFileError(name, None, f"no such file or folder, and not a bundled dataset "
                                     f"(bundled: {', '.join(names())})")


def is_inductive(name: str | Path) -> bool:
    """Whether ``name`` is an inductive split: a folder with ``train-graph/`` and ``test-graph/``."""
    folder = Path(name).expanduser()
    return (folder / "train-graph" / "train.tsv").is_file() and (folder / "test-graph" / "train.tsv").is_file()


def load_inductive(name: str | Path) -> tuple[Dataset, Dataset]:
    """``(train_graph, test_graph)`` of an inductive split (GraIL's layout): train on the
    first; the second's ``train`` is the graph read at test time, its ``test`` the queries.
    Both are named after the folder."""
    folder = path(name)
    if not is_inductive(folder):
        raise InputFileError(folder, None, "not an inductive split (expected train-graph/ and test-graph/ "
                                           "with train.tsv, valid.tsv, test.tsv)")
    train, test = read_dataset(folder / "train-graph"), read_dataset(folder / "test-graph")
    train.name = test.name = folder.name
    return train, test


def load(name: str | Path, splits: Sequence[str] = SPLITS) -> Dataset:
    """The splits of a bundled dataset (by name) or of a dataset folder (by path)."""
    folder = path(name)
    if not folder.is_dir():
        raise InputFileError(folder, None, "not a dataset folder (expected train.tsv, valid.tsv, test.tsv)")
    return read_dataset(folder, splits)


__all__ = ["Dataset", "SPLITS", "is_inductive", "load", "load_inductive", "names", "path", "read_dataset", "read_entity_labels",
           "read_relation_names", "read_table", "read_triples"]
