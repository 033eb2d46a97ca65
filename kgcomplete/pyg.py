"""PyTorch Geometric, imported once, without the ``torch.jit.script`` FutureWarning that its
own modules raise on recent PyTorch (theirs to fix, not a user's to read on every run).

Example:
    >>> from kgcomplete.pyg import scatter
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    from torch_geometric.data import Data, HeteroData
    from torch_geometric.utils import scatter

__all__ = ["Data", "HeteroData", "scatter"]
