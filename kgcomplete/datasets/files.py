"""Read triple files and benchmark folders.

A dataset folder has the layout of the standard benchmarks: ``train.tsv``, ``valid.tsv``,
``test.tsv`` with ``head<TAB>relation<TAB>tail`` lines, and optionally
``entity_types.tsv`` (``entity<TAB>type``, header), ``types.tsv`` (``type<TAB>label``,
header) and ``relations.tsv`` (``relation<TAB>label<TAB>description``, header).

Example:
    >>> from kgcomplete.datasets import path
    >>> read_dataset(path("nations")).train.num_triples
    1592
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterator, Sequence

import numpy as np

from kgcomplete.datasets.names import key_problem, looks_like_header, name_problem
from kgcomplete.errors import InputFileError
from kgcomplete.graph import KGraph

SPLITS = ("train", "valid", "test")


def read_triples(path: str | Path, reserved: Collection[str] = ()) -> list[tuple[str, str, str]]:
    """Read ``head, relation, tail`` rows from a ``.tsv``/``.txt`` (tab) or ``.csv`` file.

    Blank lines are skipped. Any other line without exactly three non-empty fields, a header
    row, or a name beyond the limits of :mod:`kgcomplete.datasets.names` (too long, blank,
    control characters) or a relationship type in ``reserved`` raises :class:`InputFileError`
    naming the file and the line. A UTF-8 byte order mark is not part of the first name.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, None, "no such file")
    rows: list[tuple[str, str, str]] = []
    checked: set[str] = set()   # relationship types seen (few): each checked once
    for line_no, fields in _read_rows(path):
        if len(fields) != 3:
            raise InputFileError(path, line_no, f"expected 3 fields (head, relation, tail), found {len(fields)}")
        if any(f == "" for f in fields):
            raise InputFileError(path, line_no, "empty head, relation or tail")
        if not rows and looks_like_header(fields):
            raise InputFileError(path, line_no, f"looks like a header row ({', '.join(fields)}): triple files have "
                                                "no header; remove the line")
        head, rel, tail = fields
        if rel not in checked:
            problem = name_problem("relationship type", rel)
            if rel in reserved:
                problem = f"relationship type {rel!r} is reserved for kgcomplete's suggestions; rename it in the data"
            if problem:
                raise InputFileError(path, line_no, problem)
            checked.add(rel)
        problem = key_problem(head) or key_problem(tail)
        if problem:
            raise InputFileError(path, line_no, problem)
        rows.append((head, rel, tail))
    return rows


def _read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            if delimiter == ",":
                for i, fields in enumerate(csv.reader(fh), start=1):
                    if fields and any(fields):
                        yield i, [f.strip() for f in fields]
            else:
                for i, line in enumerate(fh, start=1):
                    line = line.rstrip("\r\n")
                    if line.strip():
                        yield i, line.split("\t")
    except UnicodeDecodeError as e:
        raise InputFileError(path, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from e


def read_table(path: Path, columns: int) -> list[list[str]]:
    """Read a tab-separated side file with a header line (entity_types, types, relations)."""
    return [fields for _, fields in read_table_lines(path, columns)]


def read_table_lines(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    """:func:`read_table` with each row's line number."""
    out: list[tuple[int, list[str]]] = []
    for line_no, fields in _read_rows(path):
        if line_no == 1:
            continue
        if len(fields) < columns:
            raise InputFileError(path, line_no, f"expected at least {columns} tab-separated fields, found {len(fields)}")
        out.append((line_no, fields))
    return out


@dataclass
class Dataset:
    """Splits of one dataset sharing one vocabulary, plus entity labels and relation names."""

    name: str
    train: KGraph
    valid: KGraph
    test: KGraph

    def all_triples(self) -> np.ndarray:
        """Every known triple (train, valid and test), ``shape: (n, 3)``."""
        return np.concatenate([self.train.triples, self.valid.triples, self.test.triples])


def read_dataset(path: str | Path, splits: Sequence[str] = SPLITS) -> Dataset:
    """Read a benchmark folder into a :class:`Dataset`. Missing valid/test files give
    empty splits; a missing train file is an error."""
    path = Path(path)
    if not path.is_dir():
        raise InputFileError(path, None, "not a dataset folder")
    rows = {s: (read_triples(path / f"{s}.tsv") if (path / f"{s}.tsv").exists() or s == "train" else [])
            for s in SPLITS if s in splits or s == "train"}
    everything = [r for s in SPLITS for r in rows.get(s, [])]
    base = KGraph.from_labeled_triples(everything, **side_info(path, everything))  # type: ignore[arg-type]
    e_index, r_index = base.entity_index(), base.relation_index()

    def as_graph(split_rows: list[tuple[str, str, str]]) -> KGraph:
        t = np.array([(e_index[h], r_index[r], e_index[o]) for h, r, o in split_rows],
                     dtype=np.int64).reshape(-1, 3)
        return base.with_triples(t)

    return Dataset(name=path.name, train=as_graph(rows.get("train", [])),
                   valid=as_graph(rows.get("valid", [])), test=as_graph(rows.get("test", [])))


def read_entity_labels(path: Path, reserved: Collection[str] = ()) -> dict[str, list[str]]:
    """Entity key -> labels, from ``entity_types.tsv`` named by ``types.tsv`` ({} without them);
    a label beyond the limits of :mod:`~kgcomplete.datasets.names` or in ``reserved`` raises
    :class:`InputFileError` with the file and line."""
    labels: dict[str, list[str]] = {}
    if not (path / "entity_types.tsv").exists():
        return labels
    names: dict[str, str] = {}
    if (path / "types.tsv").exists():
        for line_no, (typ, label, *_) in read_table_lines(path / "types.tsv", 2):
            problem = name_problem("label", label) if label else None
            if problem:
                raise InputFileError(path / "types.tsv", line_no, problem)
            names[typ] = label
    for line_no, (ent, typ, *_) in read_table_lines(path / "entity_types.tsv", 2):
        label = names.get(typ, typ)
        if not label:
            raise InputFileError(path / "types.tsv", None, f"type {typ!r} has an empty label")
        problem = name_problem("label", label) or key_problem(ent)
        if label in reserved:
            problem = f"label {label!r} (entity {ent!r}) is reserved by kgcomplete; rename it in the data"
        if problem:
            raise InputFileError(path / "entity_types.tsv", line_no, problem)
        labels.setdefault(ent, [])
        if label not in labels[ent]:
            labels[ent].append(label)
    return labels


def read_relation_names(path: Path) -> dict[str, tuple[str, str]]:
    """Relationship type -> (name, description), from ``relations.tsv`` ({} without it)."""
    if not (path / "relations.tsv").exists():
        return {}
    return {row[0]: (row[1], row[2] if len(row) > 2 else "") for row in read_table(path / "relations.tsv", 2)}


def side_info(path: Path, rows: list[tuple[str, str, str]]) -> dict[str, object]:
    """Labels (from entity_types.tsv + types.tsv) and relation names (relations.tsv)."""
    entities = list(dict.fromkeys(x for h, _, t in rows for x in (h, t)))
    info: dict[str, object] = {"entities": entities}
    entity_labels = read_entity_labels(path)
    if entity_labels:
        labels = sorted({lab for labs in entity_labels.values() for lab in labs})
        l_index = {lab: j for j, lab in enumerate(labels)}
        mat = np.zeros((len(entities), len(labels)), dtype=bool)
        for i, ent in enumerate(entities):
            for lab in entity_labels.get(ent, []):
                mat[i, l_index[lab]] = True
        info.update(labels=labels, entity_labels=mat)
    names = read_relation_names(path)
    if names:
        info["relation_labels"] = {t: n for t, (n, _) in names.items()}
    return info
