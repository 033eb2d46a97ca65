"""R-GCN encoder with a ComplEx decoder: node labels and numeric features feed the entity
representations, so entities with few edges still get useful ones.

Schlichtkrull et al. (2018), `Modeling Relational Data with Graph Convolutional Networks
<https://arxiv.org/abs/1703.06103>`_, with basis decomposition of the relation weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kgcomplete.models.kge import ComplEx
from kgcomplete.pyg import scatter


class RGCNLayer(nn.Module):
    r"""One relational graph convolution with basis decomposition.

    .. math::
        \mathbf{h}_i' = \mathbf{W}_0 \mathbf{h}_i + \sum_{r} \sum_{j \in \mathcal{N}_r(i)}
        \frac{1}{c_{i,r}} \mathbf{W}_r \mathbf{h}_j, \qquad
        \mathbf{W}_r = \sum_{b=1}^{B} a_{rb} \mathbf{V}_b

    Args:
        in_dim (int), out_dim (int): feature sizes.
        num_relations (int): edge types (with reciprocals).
        num_bases (int): basis matrices :math:`B`. (default: :obj:`4`)
    """

    def __init__(self, in_dim: int, out_dim: int, num_relations: int, num_bases: int = 4) -> None:
        super().__init__()
        self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
        self.coefficients = nn.Parameter(torch.empty(num_relations, num_bases))
        self.root = nn.Linear(in_dim, out_dim)
        nn.init.xavier_uniform_(self.bases)
        nn.init.xavier_uniform_(self.coefficients)

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        """Args: ``x (N, in_dim)``, ``edge_index (2, E)`` source/target, ``edge_type (E,)``.
        Returns ``(N, out_dim)``."""
        src, dst = edge_index
        n = x.shape[0]
        # 1 / c_{i,r}: in-degree of the target under the edge's relation
        group = dst * self.coefficients.shape[0] + edge_type
        count = torch.bincount(group, minlength=n * self.coefficients.shape[0]).clamp_min(1)
        norm = (1.0 / count[group].float())[:, None]
        coef = self.coefficients[edge_type]  # (E, B)
        message = torch.zeros(len(src), self.bases.shape[2], device=x.device)
        for b in range(self.bases.shape[0]):  # a handful of bases, never the edges
            message = message + coef[:, b:b + 1] * (x @ self.bases[b])[src]
        return self.root(x) + scatter(message * norm, dst, dim=0, dim_size=n, reduce="sum")


class RGCN(ComplEx):
    r"""R-GCN encoder (Schlichtkrull et al., 2018) over the training graph with reciprocal
    edges, and a ComplEx decoder (see :class:`~kgcomplete.models.kge.ComplEx`).

    The input of node :math:`i` is a free embedding plus a linear map of its features
    ``[numeric properties (standardised) | label multi-hot]`` (``KGraph.to_pyg().x``);
    each layer adds its output to its input (residual). During training a share of edges
    is dropped from message passing, so a triple cannot be read off its own edge.

    Args:
        num_entities (int), num_relations (int): graph size.
        dim (int): complex dimension of the representations (``2 * dim`` reals).
            (default: :obj:`100`)
        num_layers (int): graph convolutions. (default: :obj:`1`)
        num_bases (int): basis matrices per layer. (default: :obj:`4`)
        num_features (int): width of ``x``; set by :meth:`prepare`. (default: :obj:`0`)
        edge_dropout (float): share of edges dropped per training step. (default: :obj:`0.5`)
        dropout (float): dropout on layer outputs. (default: :obj:`0.1`)
        reg_weight (float): N3 weight on the decoder factors. (default: :obj:`0.0`)
    """

    optimizer = "adam"
    learning_rate = 1e-2

    def __init__(self, num_entities: int, num_relations: int, dim: int = 100, num_layers: int = 1,
                 num_bases: int = 4, num_features: int = 0, edge_dropout: float = 0.5, dropout: float = 0.1,
                 reg_weight: float = 0.0, init_scale: float = 0.1) -> None:
        super().__init__(num_entities, num_relations, dim=dim, reg_weight=reg_weight, init_scale=init_scale)
        self.num_layers, self.num_bases = int(num_layers), int(num_bases)
        self.edge_dropout, self.dropout = float(edge_dropout), float(dropout)
        self.hparams.update(num_layers=self.num_layers, num_bases=self.num_bases, num_features=int(num_features),
                            edge_dropout=self.edge_dropout, dropout=self.dropout)
        width = 2 * self.dim
        self.layers = nn.ModuleList(RGCNLayer(width, width, 2 * num_relations, num_bases) for _ in range(num_layers))
        self.register_buffer("edge_index", torch.zeros(2, 0, dtype=torch.long))
        self.register_buffer("edge_type", torch.zeros(0, dtype=torch.long))
        self.register_buffer("x", torch.zeros(num_entities, int(num_features)))
        self.features = nn.Linear(int(num_features), width, bias=False) if num_features else None

    def prepare(self, graph: Any) -> None:
        data = graph.to_pyg()
        x = data.x.float()
        if self.features is None and x.shape[1]:
            self.features = nn.Linear(x.shape[1], 2 * self.dim, bias=False).to(self.entity.weight.device)
            self.hparams["num_features"] = x.shape[1]
        self.x = x.to(self.entity.weight.device)
        ei, et, R = data.edge_index, data.edge_type, self.num_relations
        self.edge_index = torch.cat([ei, ei.flip(0)], dim=1).to(self.x.device)
        self.edge_type = torch.cat([et, et + R]).to(self.x.device)

    def encode(self) -> Tensor:
        """Entity representations, ``shape: (N, 2 * dim)``."""
        h = self.entity.weight
        if self.features is not None and self.x.shape[1]:
            h = h + self.features(self.x)
        edge_index, edge_type = self.edge_index, self.edge_type
        if self.training and self.edge_dropout > 0 and edge_type.numel():
            keep = torch.rand(edge_type.numel(), device=h.device) >= self.edge_dropout
            edge_index, edge_type = edge_index[:, keep], edge_type[keep]
        for layer in self.layers:
            out = torch.tanh(layer(h, edge_index, edge_type))
            h = h + nn.functional.dropout(out, self.dropout, self.training)
        return h
