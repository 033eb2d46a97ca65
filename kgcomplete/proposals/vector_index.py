"""Approximate top-k search over entity vectors with a FAISS inverted-file index.

For models whose score is an inner product of a query vector with the target's vector
(DistMult, ComplEx and the GNNs with a ComplEx decoder) or falls with their distance
(TransE, RotatE), the best targets of a query are its nearest vectors. An IVF index
clusters the targets into ``nlist`` cells by k-means and a query visits only the
``nprobe`` cells whose centroids score best, so it scores about ``nprobe / nlist`` of the
targets instead of all of them (``nprobe = nlist`` is an exhaustive search).

Example:
    >>> index = VectorIndex(np.eye(4, dtype=np.float32), "inner_product", nlist=2, nprobe=2)
    >>> index.search(np.array([[0, 0, 1, 0]], dtype=np.float32), 1).tolist()
    [[2]]
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import tqdm

from kgcomplete.errors import ConfigError

#: k-means cells per square root of the targets: ``nlist = CELLS_PER_ROOT * sqrt(n)``.
CELLS_PER_ROOT = 4

#: Share of the cells a query visits unless ``nprobe`` is given.
PROBE_SHARE = 0.1

#: k-means trains on at most this many vectors a cell, for this many rounds (build time).
TRAIN_PER_CELL, TRAIN_ROUNDS = 64, 10

#: Vectors added to the index per step of the progress bar.
ADD_CHUNK = 65_536


class VectorIndex:
    """An IVF-flat index over ``vectors`` (``shape: (n, D)``), searched by query vectors.

    Args:
        vectors: the targets, ``float32``; a search answers row positions.
        form: ``"inner_product"`` (best = largest ``q . e``) or ``"distance"`` (best =
            smallest ``||q - e||``).
        nlist: k-means cells. (default: ``CELLS_PER_ROOT * sqrt(n)``, at most ``n``)
        nprobe: cells a query visits. (default: ``PROBE_SHARE`` of ``nlist``, at least 1)
        progress: a bar (count, ETA) over the vectors added.
        seed: k-means seed.
    """

    def __init__(self, vectors: np.ndarray, form: str, *, nlist: int | None = None, nprobe: int | None = None,
                 progress: bool = False, seed: int = 0) -> None:
        import faiss

        if form not in ("inner_product", "distance"):
            raise ConfigError(f"no vector index for scores of the form {form!r}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        self.nlist = max(1, min(n, nlist if nlist is not None else round(CELLS_PER_ROOT * math.sqrt(n))))
        self.nprobe = max(1, min(self.nlist, nprobe if nprobe is not None else math.ceil(PROBE_SHARE * self.nlist)))
        faiss.omp_set_num_threads(torch.get_num_threads())
        metric = faiss.METRIC_INNER_PRODUCT if form == "inner_product" else faiss.METRIC_L2
        quantizer = faiss.IndexFlatIP(dim) if form == "inner_product" else faiss.IndexFlatL2(dim)
        self.index = faiss.IndexIVFFlat(quantizer, dim, self.nlist, metric)
        self.index.cp.seed, self.index.cp.niter = seed, TRAIN_ROUNDS
        self.index.cp.max_points_per_centroid = TRAIN_PER_CELL
        self.index.cp.min_points_per_centroid = 1   # few targets: no warning, fewer vectors per cell
        bar = tqdm(total=n, desc=f"index ({self.nlist} cells)", unit="vector", disable=not progress or None,
                   leave=False)
        self.index.train(vectors)
        for start in range(0, n, ADD_CHUNK):
            self.index.add(vectors[start:start + ADD_CHUNK])
            bar.update(min(ADD_CHUNK, n - start))
        bar.close()
        self.index.nprobe = self.nprobe
        self._quantizer = quantizer  # the index does not own it

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` best rows for each query, best first, ``shape: (B, k), dtype: int64``;
        ``-1`` where the visited cells hold fewer than ``k`` vectors."""
        _, found = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return np.asarray(found, dtype=np.int64)
