"""Approximate top-k over entity vectors: a FAISS product-quantised scan.

For models whose score is an inner product of a query vector with the target's vector
(DistMult, ComplEx and the GNNs with a ComplEx decoder) or falls with their distance
(TransE, RotatE), a query's best targets are its nearest vectors. The index keeps each
target as 4-bit codes of its pairs of coordinates (product quantisation, ``D / 2``
sub-quantisers of 16 centroids each: a sixteenth of the float table) and scans the codes
with SIMD lookup tables (FAISS "fast scan"); the caller rescores the best few exactly.

Chosen by measuring (docs/large-graphs.md, "Candidate search at scale"): on a briefly
trained ComplEx of wn18rr, inverted-file cells and HNSW graphs needed most of the work of the
exact search for recall 0.95, because the embeddings spread over all their dimensions; the
quantised scan reached it with a few hundred rescored per query. It still reads every
target's codes, a sixteenth of the floats, once per query.

Example:
    >>> index = VectorIndex(np.eye(4, dtype=np.float32), "inner_product")
    >>> index.search(np.array([[0, 0, 1, 0]], dtype=np.float32), 1).tolist()
    [[2]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kgcomplete.errors import ConfigError

#: Vectors added to the index per step of the progress bar.
ADD_CHUNK = 65_536

#: Fewer targets than this are kept as plain floats and scanned exactly (16 centroids per
#: sub-quantiser want some hundreds of vectors to train on).
MIN_QUANTISED = 1024


class VectorIndex:
    """A product-quantised fast-scan index over ``vectors`` (``shape: (n, D)``).

    Args:
        vectors: the targets, ``float32``; a search answers row positions.
        form: ``"inner_product"`` (best = largest ``q . e``) or ``"distance"`` (best =
            smallest ``||q - e||``).
        progress: a bar (count, ETA) over the vectors added.

    Attributes:
        subquantizers: codes per vector (0: fewer than ``MIN_QUANTISED`` targets, kept as floats).
    """

    def __init__(self, vectors: np.ndarray, form: str, *, progress: bool = False) -> None:
        import faiss

        if form not in ("inner_product", "distance"):
            raise ConfigError(f"no vector index for scores of the form {form!r}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        faiss.omp_set_num_threads(torch.get_num_threads())
        metric = faiss.METRIC_INNER_PRODUCT if form == "inner_product" else faiss.METRIC_L2
        self.index: Any
        if n < MIN_QUANTISED:
            self.subquantizers = 0
            self.index = faiss.IndexFlat(dim, metric)
        else:
            self.subquantizers = dim // 2 if dim % 2 == 0 else dim
            self.index = faiss.IndexPQFastScan(dim, self.subquantizers, 4, metric)
        bar = tqdm(total=n, desc="index", unit="vector", disable=not progress or None, leave=False)
        self.index.train(vectors)
        for start in range(0, n, ADD_CHUNK):
            self.index.add(vectors[start:start + ADD_CHUNK])
            bar.update(min(ADD_CHUNK, n - start))
        bar.close()

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` best rows for each query by the quantised score, best first,
        ``shape: (B, k), dtype: int64``; ``-1`` past the last row."""
        _, found = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return np.asarray(found, dtype=np.int64)
