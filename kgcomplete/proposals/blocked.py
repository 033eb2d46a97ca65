"""Blocked triples as one sorted ``int64`` array, looked up a batch at a time.

A set of Python tuples costs about 200 bytes a triple and seconds to build on ten million
relationships; a triple's key ``(head * R + relation) * N + tail`` costs 8 bytes, and
``np.searchsorted`` answers a whole batch of candidates at once.

Example:
    >>> b = BlockedTriples.of(np.array([[0, 1, 2], [2, 0, 1]]), num_entities=3, num_relations=2)
    >>> b.contains(np.array([0, 2]), np.array([1, 1]), np.array([2, 1])).tolist()
    [True, False]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kgcomplete.errors import GraphError


def triple_keys(heads: npt.ArrayLike, relations: npt.ArrayLike, tails: npt.ArrayLike, num_entities: int,
                num_relations: int) -> np.ndarray:
    """One ``int64`` key per triple, ``(head * R + relation) * N + tail``, in the (broadcast)
    shape of the inputs. :class:`GraphError` where ``N * N * R`` does not fit in an ``int64``."""
    if num_entities * num_entities * num_relations >= 2**63:
        raise GraphError(f"{num_entities} entities and {num_relations} relationship types are too many to key "
                         f"triples as 64-bit integers")
    h, r, t = (np.asarray(x, dtype=np.int64) for x in (heads, relations, tails))
    return (h * num_relations + r) * num_entities + t


def split_keys(keys: np.ndarray, num_entities: int, num_relations: int) -> np.ndarray:
    """The triples of ``keys``, ``shape: (n, 3), dtype: int64`` (the inverse of :func:`triple_keys`)."""
    keys = np.asarray(keys, dtype=np.int64)
    hr, t = np.divmod(keys, num_entities)
    h, r = np.divmod(hr, num_relations)
    return np.stack([h, r, t], axis=1)


@dataclass(frozen=True)
class BlockedTriples:
    """Triples a candidate search must not return, as sorted unique keys.

    Args:
        keys: ``shape: (n,), dtype: int64``, sorted, unique.
        num_entities, num_relations: the ``N`` and ``R`` the keys were made with.
    """

    keys: np.ndarray
    num_entities: int
    num_relations: int

    @classmethod
    def of(cls, *triples: np.ndarray, num_entities: int, num_relations: int) -> BlockedTriples:
        """Block every row ``(head, relation, tail)`` of each ``triples`` array (``(n, 3)``)."""
        parts = [triple_keys(t[:, 0], t[:, 1], t[:, 2], num_entities, num_relations)
                 for t in (np.asarray(x, dtype=np.int64).reshape(-1, 3) for x in triples)]
        keys = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys   # np.unique: 20x slower here
        return cls(keys, int(num_entities), int(num_relations))

    def __len__(self) -> int:
        return len(self.keys)

    def contains_keys(self, keys: np.ndarray) -> np.ndarray:
        """Whether each key is blocked, ``bool``, same shape as ``keys``."""
        if not len(self.keys):
            return np.zeros(np.shape(keys), dtype=bool)
        at = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        return np.asarray(self.keys[at] == keys)

    def contains(self, heads: npt.ArrayLike, relations: npt.ArrayLike, tails: npt.ArrayLike) -> np.ndarray:
        """Whether each triple is blocked, ``bool``, shape of the (broadcast) inputs."""
        return self.contains_keys(triple_keys(heads, relations, tails, self.num_entities, self.num_relations))
