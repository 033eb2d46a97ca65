"""PyTorch Geometric where kgcomplete needs it, imported only then.

``scatter`` (sum or mean of rows by group, all kgcomplete's models use) is plain PyTorch:
importing ``torch_geometric`` also imports ``torch._dynamo`` and sympy, which took longer than
training the demo's link predictor. ``Data`` and ``HeteroData`` (for
:meth:`~kgcomplete.graph.KGraph.to_pyg`) import PyTorch Geometric on first use, without the
``torch.jit.script`` FutureWarning its own modules raise on recent PyTorch.

Example:
    >>> import torch
    >>> scatter(torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0, 0, 1]), dim_size=3, reduce="mean")
    tensor([[2.],
            [5.],
            [0.]])
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from torch_geometric.data import Data, HeteroData

__all__ = ["Data", "HeteroData", "scatter"]


def scatter(src: Tensor, index: Tensor, dim: int = 0, dim_size: int | None = None, reduce: str = "sum") -> Tensor:
    """Rows of ``src`` ``(N, *)`` summed (``reduce="sum"``) or averaged (``"mean"``) by group
    ``index`` ``(N,)``: ``(dim_size, *)``, empty groups 0 (as ``torch_geometric.utils.scatter``)."""
    if dim != 0 or reduce not in ("sum", "mean"):
        raise ValueError(f"scatter supports dim=0 with reduce 'sum' or 'mean', not dim={dim}, reduce={reduce!r}")
    size = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
    out = src.new_zeros((size, *src.shape[1:])).index_add(0, index, src)
    if reduce == "mean":
        count = src.new_zeros(size).index_add(0, index, src.new_ones(index.shape[0]))
        out = out / count.clamp(min=1).view(-1, *([1] * (src.dim() - 1)))
    return out


def __getattr__(name: str) -> Any:
    if name in ("Data", "HeteroData"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
            import torch_geometric.data

        return getattr(torch_geometric.data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


