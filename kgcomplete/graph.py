"""KGraph: the in-memory snapshot of a knowledge graph that every other module speaks.

Connectors produce it, models and suggest consume it. Entities and relations are
indexed ``0..n-1``; ``entities[i]`` is the stable key of entity ``i`` in Neo4j (the value
of the configured key property), ``relations[r]`` the exact relationship type.

Example:
    >>> g = KGraph.from_labeled_triples([("a", "KNOWS", "b"), ("b", "KNOWS", "c")])
    >>> g.num_entities, g.num_relations, g.num_triples
    (3, 1, 2)
    >>> train, valid, test = g.split(valid=0.0, test=0.0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from kgcomplete.errors import GraphError, InputFileError

FORMAT_VERSION = 1


@dataclass
class KGraph:
    """A snapshot of a multi-relational graph.

    Args:
        entities: key of each entity, ``len == num_entities``.
        relations: relationship type of each relation index.
        triples: ``shape: (num_triples, 3), dtype: int64`` rows of (head, relation, tail).
        labels: node-label vocabulary (Neo4j labels other than the base label).
        entity_labels: ``shape: (num_entities, len(labels)), dtype: bool``.
        features: ``shape: (num_entities, len(feature_names)), dtype: float32``, numeric and
            boolean node properties (missing values are 0).
        feature_names: property name of each feature column.
        names: display name of each entity (the configured name property, or the key).
        relation_labels: human-readable name of a relationship type, where one is known.
        key_property: the node property that holds ``entities``.
    """

    entities: list[str]
    relations: list[str]
    triples: np.ndarray
    labels: list[str] = field(default_factory=list)
    entity_labels: np.ndarray = None  # type: ignore[assignment]  # None: no labels (set in __post_init__)
    features: np.ndarray = None  # type: ignore[assignment]  # None: no features (set in __post_init__)
    feature_names: list[str] = field(default_factory=list)
    names: list[str] | None = None
    relation_labels: dict[str, str] = field(default_factory=dict)
    key_property: str = "uid"

    def __post_init__(self) -> None:
        self.triples = np.asarray(self.triples, dtype=np.int64).reshape(-1, 3)
        n, r = len(self.entities), len(self.relations)
        if len(self.triples):
            if self.triples[:, [0, 2]].min() < 0 or self.triples[:, [0, 2]].max() >= n:
                raise GraphError("a triple refers to an entity index outside 0..num_entities-1")
            if self.triples[:, 1].min() < 0 or self.triples[:, 1].max() >= r:
                raise GraphError("a triple refers to a relation index outside 0..num_relations-1")
        if self.entity_labels is None:
            self.entity_labels = np.zeros((n, len(self.labels)), dtype=bool)
        self.entity_labels = np.asarray(self.entity_labels, dtype=bool).reshape(n, len(self.labels))
        if self.features is None:
            self.features = np.zeros((n, len(self.feature_names)), dtype=np.float32)
        self.features = np.asarray(self.features, dtype=np.float32).reshape(n, len(self.feature_names))
        if self.names is not None and len(self.names) != n:
            raise GraphError(f"names has {len(self.names)} entries for {n} entities")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_labeled_triples(
        cls,
        rows: Iterable[Sequence[str]],
        entities: Sequence[str] | None = None,
        relations: Sequence[str] | None = None,
        **kwargs: object,
    ) -> KGraph:
        """Build a graph from ``(head_key, relation_type, tail_key)`` string rows.

        ``entities`` / ``relations`` fix the vocabulary (and its order); by default it is
        the order of first appearance.
        """
        arr = np.asarray(list(rows), dtype=object).reshape(-1, 3)
        ent = list(entities) if entities is not None else _unique_in_order(
            np.stack([arr[:, 0], arr[:, 2]], axis=1).ravel())
        rel = list(relations) if relations is not None else _unique_in_order(arr[:, 1])
        e_index = {k: i for i, k in enumerate(ent)}
        r_index = {k: i for i, k in enumerate(rel)}
        try:
            triples = np.array(
                [(e_index[h], r_index[r], e_index[t]) for h, r, t in arr], dtype=np.int64
            ).reshape(-1, 3)
        except KeyError as e:
            raise GraphError(f"{e.args[0]!r} is not in the given vocabulary") from e
        return cls(entities=ent, relations=rel, triples=triples, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ sizes and lookups
    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    @property
    def num_triples(self) -> int:
        return int(self.triples.shape[0])

    def entity_index(self) -> dict[str, int]:
        """Key -> index map."""
        return {k: i for i, k in enumerate(self.entities)}

    def relation_index(self) -> dict[str, int]:
        """Relationship type -> index map."""
        return {k: i for i, k in enumerate(self.relations)}

    def display_name(self, index: int) -> str:
        """The display name of entity ``index`` (its key when no name is known)."""
        if self.names is not None and self.names[index]:
            return self.names[index]
        return self.entities[index]

    def labeled_triples(self) -> list[tuple[str, str, str]]:
        """Triples as ``(head_key, relation_type, tail_key)`` strings."""
        e, r = self.entities, self.relations
        return [(e[h], r[t], e[o]) for h, t, o in self.triples.tolist()]

    def known(self) -> set[tuple[int, int, int]]:
        """The set of ``(head, relation, tail)`` index triples, for filtering."""
        return set(map(tuple, self.triples.tolist()))  # type: ignore[arg-type]

    def out_edges(self, entity: int) -> np.ndarray:
        """The triples whose head is ``entity``, in their order in ``triples`` (found by
        binary search in an index sorted on first use: the triples must not change after)."""
        return self._edges_at(0, entity)

    def in_edges(self, entity: int) -> np.ndarray:
        """The triples whose tail is ``entity`` (as :meth:`out_edges`)."""
        return self._edges_at(2, entity)

    def _edges_at(self, side: int, entity: int) -> np.ndarray:
        index = self.__dict__.setdefault("_edge_index", {})
        if side not in index:
            order = np.argsort(self.triples[:, side], kind="stable")
            index[side] = (order, self.triples[order, side])
        order, keys = index[side]
        return self.triples[order[np.searchsorted(keys, entity, "left"):np.searchsorted(keys, entity, "right")]]

    def incident_edges(self) -> np.ndarray:
        """Every triple seen from both ends: rows ``(entity, r2, neighbour)`` with ``r2 = r``
        for ``entity -r-> neighbour`` and ``r + R`` for ``neighbour -r-> entity``,
        ``shape: (2 * num_triples, 3), dtype: int64``."""
        t, R = self.triples, self.num_relations
        return np.concatenate([t, np.stack([t[:, 2], t[:, 1] + R, t[:, 0]], 1)])

    def index_triples(self, rows: Iterable[Sequence[str]]) -> np.ndarray:
        """``(head_key, type, tail_key)`` rows as index triples ``shape: (k, 3)``; rows naming
        an entity or type this graph lacks are left out."""
        e, r = self.entity_index(), self.relation_index()
        out = [(e[h], r[t], e[o]) for h, t, o in rows if h in e and t in r and o in e]
        return np.asarray(out, dtype=np.int64).reshape(-1, 3)

    def with_triples(self, triples: np.ndarray) -> KGraph:
        """The same vocabulary, labels and features with other triples."""
        return replace(self, triples=np.asarray(triples, dtype=np.int64).reshape(-1, 3))

    def summary(self) -> str:
        """One line: sizes of the snapshot."""
        return (f"{self.num_entities} entities, {self.num_relations} relationship types, "
                f"{self.num_triples} relationships, {len(self.labels)} labels, "
                f"{len(self.feature_names)} features")

    # ------------------------------------------------------------------ splitting
    def split(self, valid: float = 0.05, test: float = 0.05, seed: int = 0, stable: bool = False
              ) -> tuple[KGraph, KGraph, KGraph]:
        """Random train/valid/test split of the triples, sharing one vocabulary.

        Every entity and relation seen in valid or test also occurs in train: a held-out
        triple whose entity or relation would otherwise vanish from train is moved back.
        ``stable=True`` orders triples by a hash of their keys and names instead of a random
        permutation, so a triple stays on its side when the graph changes a little (a
        nightly run then never validates on what last night's checkpoint trained on).
        """
        if not (0 <= valid < 1 and 0 <= test < 1 and valid + test < 1):
            raise GraphError(f"split fractions valid={valid}, test={test} must be in [0, 1) and sum below 1")
        n = self.num_triples
        if stable:
            ent, rel = np.asarray(self.entities, dtype=object), np.asarray(self.relations, dtype=object)
            h, r, t = ent[self.triples[:, 0]], rel[self.triples[:, 1]], ent[self.triples[:, 2]]
            text = h + "\x00" + r + "\x00" + t + f"\x00{seed}"
            perm = np.argsort(pd.util.hash_array(text), kind="stable")
        else:
            perm = np.random.default_rng(seed).permutation(n)
        n_test, n_valid = int(round(n * test)), int(round(n * valid))
        held = perm[: n_test + n_valid]
        train_mask = np.ones(n, dtype=bool)
        train_mask[held] = False
        # Walk the held-out triples; keep one out only if its head, tail and relation still
        # occur in train. Counting occurrences makes this O(n).
        ent_count = np.bincount(self.triples[train_mask][:, [0, 2]].ravel(), minlength=self.num_entities)
        rel_count = np.bincount(self.triples[train_mask][:, 1], minlength=self.num_relations)
        kept_out: list[int] = []
        for i in held.tolist():
            h, r, t = self.triples[i]
            if ent_count[h] == 0 or ent_count[t] == 0 or rel_count[r] == 0:
                train_mask[i] = True
                ent_count[h] += 1
                ent_count[t] += 1
                rel_count[r] += 1
            else:
                kept_out.append(i)
        test_idx = np.array(kept_out[:n_test], dtype=np.int64)
        valid_idx = np.array(kept_out[n_test:], dtype=np.int64)
        return (self.with_triples(self.triples[train_mask]),
                self.with_triples(self.triples[valid_idx]),
                self.with_triples(self.triples[test_idx]))

    # ------------------------------------------------------------------ PyTorch Geometric
    def node_types(self) -> list[str]:
        """One type per entity: its rarest label (the most specific), or ``"Entity"``."""
        if not self.labels:
            return ["Entity"] * self.num_entities
        sizes = self.entity_labels.sum(axis=0)  # type: ignore[union-attr]
        order = np.where(self.entity_labels, sizes[None, :], np.iinfo(np.int64).max)
        pick = order.argmin(axis=1)
        has = np.asarray(self.entity_labels.any(axis=1)).tolist()
        return [self.labels[p] if ok else "Entity" for p, ok in zip(pick.tolist(), has)]

    def node_inputs(self) -> np.ndarray:
        """What a GNN reads of each node: ``[standardised features | label multi-hot]``,
        ``shape: (num_entities, F + L), dtype: float32`` (labels stay 0/1)."""
        feats = self.features.astype(np.float32)  # type: ignore[union-attr]
        if feats.shape[1]:
            feats = (feats - feats.mean(0)) / np.maximum(feats.std(0), 1e-6)
        return np.concatenate([feats, self.entity_labels.astype(np.float32)], axis=1)  # type: ignore[union-attr]

    def to_pyg(self):  # -> torch_geometric.data.Data
        """A homogeneous PyG ``Data`` with ``edge_index``, ``edge_type`` and ``x``
        (:meth:`node_inputs`, ``shape: (num_entities, F + L)``).
        """
        import torch

        from kgcomplete.pyg import Data

        t = torch.from_numpy(self.triples)
        x = self.node_inputs()
        return Data(edge_index=t[:, [0, 2]].t().contiguous(), edge_type=t[:, 1].clone(),
                    x=torch.from_numpy(x), num_nodes=self.num_entities)

    def to_hetero(self):  # -> torch_geometric.data.HeteroData
        """A PyG ``HeteroData``: node types from :meth:`node_types`, one edge type per
        (source type, relationship type, target type). ``data[t].key`` maps local rows
        back to entity indices.
        """
        import torch

        from kgcomplete.pyg import HeteroData

        types = np.array(self.node_types(), dtype=object)
        data = HeteroData()
        local = np.zeros(self.num_entities, dtype=np.int64)
        for nt in sorted(set(types.tolist())):
            idx = np.flatnonzero(types == nt)
            local[idx] = np.arange(len(idx))
            data[nt].num_nodes = len(idx)
            data[nt].entity = torch.from_numpy(idx)
            data[nt].x = torch.from_numpy(self.features[idx])  # type: ignore[index]
        h, r, t = self.triples[:, 0], self.triples[:, 1], self.triples[:, 2]
        groups: dict[tuple[str, str, str], list[int]] = {}
        for i, key in enumerate(zip(types[h].tolist(), r.tolist(), types[t].tolist())):
            groups.setdefault((key[0], self.relations[key[1]], key[2]), []).append(i)
        for (st, rel, tt), rows in groups.items():
            rows_a = np.asarray(rows)
            ei = np.stack([local[h[rows_a]], local[t[rows_a]]])
            data[st, rel, tt].edge_index = torch.from_numpy(ei)
        return data

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Save to one ``.npz`` file (no pickle). Returns the path written."""
        path = Path(path)
        meta = {
            "format": "kgcomplete.KGraph", "version": FORMAT_VERSION,
            "entities": self.entities, "relations": self.relations, "labels": self.labels,
            "feature_names": self.feature_names, "names": self.names,
            "relation_labels": self.relation_labels, "key_property": self.key_property,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                                triples=self.triples, entity_labels=self.entity_labels,
                                features=self.features)
        return path

    @classmethod
    def load(cls, path: str | Path) -> KGraph:
        """Load a snapshot written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                arrays = {k: z[k] for k in ("triples", "entity_labels", "features")}
        except (OSError, ValueError, KeyError) as e:
            raise InputFileError(path, None, f"not a kgcomplete snapshot ({e})") from e
        if meta.get("format") != "kgcomplete.KGraph":
            raise InputFileError(path, None, "not a kgcomplete snapshot")
        return cls(entities=meta["entities"], relations=meta["relations"],
                   triples=arrays["triples"], labels=meta["labels"],
                   entity_labels=arrays["entity_labels"], features=arrays["features"],
                   feature_names=meta["feature_names"], names=meta["names"],
                   relation_labels=meta["relation_labels"], key_property=meta["key_property"])


def _unique_in_order(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
