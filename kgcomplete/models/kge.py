"""Knowledge-graph embeddings: DistMult, ComplEx, RotatE and TransE.

Each model keeps one embedding per entity and one per relation *and its reciprocal*
(``2R`` rows), and scores a ``(head, relation)`` query against every entity with one
matrix product (1-N scoring). Distance models (TransE, RotatE) use the Euclidean norm,
expanded as ``||a - t||^2 = ||a||^2 + ||t||^2 - 2 a.t`` so 1-N scoring stays a matrix
product instead of a ``(B, N, d)`` tensor.

Trained by :func:`kgcomplete.training.fit.fit` with cross-entropy over all entities and the N3
regulariser of Lacroix et al. (2018), `Canonical Tensor Decomposition for Knowledge Base
Completion <https://arxiv.org/abs/1806.07297>`_.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from kgcomplete.models.base import LinkPredictor


class KGEModel(LinkPredictor):
    """Shared parts of the embedding models: tables, initialisation, N3 penalty.

    Args:
        num_entities (int): number of entities ``N``.
        num_relations (int): number of relation types ``R``.
        dim (int): embedding size (complex models: number of complex components).
            (default: :obj:`200`)
        reg_weight (float): weight of the N3 penalty on the factors of each training
            triple. (default: :obj:`0.0`)
        init_scale (float): standard deviation of the initial embeddings.
            (default: :obj:`1e-3`)
        sparse (bool): the entity table gets sparse gradients, so an optimiser step touches
            only the rows a batch used (for graphs of millions of entities, with Adagrad).
            (default: :obj:`False`)
    """

    entity_factor = 1  # real numbers per dimension of an entity embedding
    relation_factor = 1
    optimizer = "adagrad"  # defaults used by fit()
    learning_rate = 0.1

    def __init__(self, num_entities: int, num_relations: int, dim: int = 200,
                 reg_weight: float = 0.0, init_scale: float = 1e-3, sparse: bool = False) -> None:
        super().__init__(num_entities, num_relations)
        self.dim = int(dim)
        self.reg_weight = float(reg_weight)
        self.init_scale = float(init_scale)
        self.hparams = dict(dim=self.dim, reg_weight=self.reg_weight, init_scale=self.init_scale)
        if sparse:
            self.hparams["sparse"] = True
        self.entity = nn.Embedding(num_entities, self.dim * self.entity_factor, sparse=sparse)
        self.relation = nn.Embedding(2 * num_relations, self.dim * self.relation_factor)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.entity.weight, std=self.init_scale)
        nn.init.normal_(self.relation.weight, std=self.init_scale)

    def entity_weights(self, state: Any) -> Tensor:
        """All entity embeddings, ``shape: (N, dim * entity_factor)``; a GNN encoder's
        output replaces the lookup table when given as ``state``."""
        return self.entity.weight if state is None else state

    def rows(self, index: Tensor, state: Any = None) -> Tensor:
        """The embeddings of entities ``index`` (through the table's lookup, so a sparse
        table gets a sparse gradient), or rows of an encoder's ``state``."""
        return self.entity(index) if state is None else self.entity_weights(state)[index]

    def entity_vectors(self, state: Any = None) -> Tensor:
        return self.entity_weights(state)

    def regularization(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        """N3: ``reg_weight`` times the mean over the rows of ``|e_h|^3 + |e_r|^3 + |e_t|^3``
        (summed over the coordinates, complex ones by their modulus). Computed once per
        distinct entity and relation of the batch, weighted by how often each occurs."""
        if self.reg_weight == 0.0:
            return torch.zeros((), device=entity.device)
        nodes, node_count = torch.unique(torch.cat([entity, target]), return_counts=True)
        rels, rel_count = torch.unique(relation, return_counts=True)
        total = (self._cubed_norm(self.rows(nodes, state)) * node_count).sum() + \
            (self._cubed_norm(self.relation(rels)) * rel_count).sum()
        return self.reg_weight * total / entity.numel()

    def _cubed_norm(self, x: Tensor) -> Tensor:
        """``sum_i |x_i|^3`` of each row, ``shape: (B,)``."""
        return x.abs().pow(3).sum(-1)


class DistMult(KGEModel):
    r"""DistMult from Yang et al. (2015), `Embedding Entities and Relations for Learning
    and Inference in Knowledge Bases <https://arxiv.org/abs/1412.6575>`_.

    .. math::
        d(h, r, t) = \langle \mathbf{e}_h, \mathbf{e}_r, \mathbf{e}_t \rangle

    Args: see :class:`KGEModel`.
    """

    vector_form = "inner_product"

    def query_vectors(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return self.rows(entity, state) * self.relation(relation)

    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return (self.rows(entity, state) * self.relation(relation)) @ self.entity_weights(state).t()

    def score_candidates(self, entity: Tensor, relation: Tensor, candidates: Tensor, state: Any = None) -> Tensor:
        return (self.rows(entity, state) * self.relation(relation)) @ self.rows(candidates, state).t()

    def score_pairs(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        return (self.rows(entity, state) * self.relation(relation) * self.rows(target, state)).sum(-1)


class ComplEx(KGEModel):
    r"""ComplEx from Trouillon et al. (2016), `Complex Embeddings for Simple Link
    Prediction <https://arxiv.org/abs/1606.06357>`_, with reciprocal relations and N3
    (Lacroix et al., 2018).

    .. math::
        d(h, r, t) = \Re(\langle \mathbf{e}_h, \mathbf{e}_r, \overline{\mathbf{e}_t} \rangle)

    Embeddings are stored as ``[real | imaginary]``, ``shape: (N, 2 * dim)``.

    Args: see :class:`KGEModel`.
    """

    entity_factor = 2
    relation_factor = 2
    vector_form = "inner_product"   # Re(<h r, conj t>) = [Re q | Im q] . [Re t | Im t]

    def query_vectors(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return self.query(self.rows(entity, state), relation)

    def query(self, ent: Tensor, relation: Tensor) -> Tensor:
        """The query vector ``e_h * e_r`` (complex product) of entity rows ``ent``, ``shape: (B, 2 dim)``."""
        h_re, h_im = ent.chunk(2, dim=-1)
        r_re, r_im = self.relation(relation).chunk(2, dim=-1)
        return torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], dim=-1)

    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return self.query(self.rows(entity, state), relation) @ self.entity_weights(state).t()

    def score_candidates(self, entity: Tensor, relation: Tensor, candidates: Tensor, state: Any = None) -> Tensor:
        return self.query(self.rows(entity, state), relation) @ self.rows(candidates, state).t()

    def score_pairs(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        return (self.query(self.rows(entity, state), relation) * self.rows(target, state)).sum(-1)

    def _cubed_norm(self, x: Tensor) -> Tensor:
        re, im = x.chunk(2, dim=-1)
        return (re * re + im * im).pow(1.5).sum(-1)   # |z|^3 without a square root


class _DistanceModel(KGEModel):
    """Score ``margin - ||query - e_t||_2`` for a translated/rotated query vector."""

    vector_form = "distance"

    def __init__(self, num_entities: int, num_relations: int, dim: int = 200,
                 reg_weight: float = 0.0, init_scale: float | None = None, margin: float = 6.0,
                 sparse: bool = False) -> None:
        scale = init_scale if init_scale is not None else 1.0 / math.sqrt(dim)
        self.margin = float(margin)
        super().__init__(num_entities, num_relations, dim, reg_weight, scale, sparse)
        self.hparams["margin"] = self.margin

    def _query(self, ent: Tensor, relation: Tensor) -> Tensor:
        raise NotImplementedError

    def query_vectors(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return self._query(self.rows(entity, state), relation)

    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        return self._distance_score(self._query(self.rows(entity, state), relation), self.entity_weights(state))

    def score_candidates(self, entity: Tensor, relation: Tensor, candidates: Tensor, state: Any = None) -> Tensor:
        return self._distance_score(self._query(self.rows(entity, state), relation), self.rows(candidates, state))

    def _distance_score(self, q: Tensor, ent: Tensor) -> Tensor:
        sq = (q * q).sum(-1, keepdim=True) + (ent * ent).sum(-1)[None, :] - 2.0 * q @ ent.t()
        return self.margin - torch.sqrt(sq.clamp_min(0.0) + 1e-6)

    def score_pairs(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        diff = self._query(self.rows(entity, state), relation) - self.rows(target, state)
        return self.margin - torch.sqrt((diff * diff).sum(-1) + 1e-6)


class TransE(_DistanceModel):
    r"""TransE from Bordes et al. (2013), `Translating Embeddings for Modeling
    Multi-Relational Data <https://papers.nips.cc/paper/5071>`_.

    .. math::
        d(h, r, t) = \gamma - \| \mathbf{e}_h + \mathbf{e}_r - \mathbf{e}_t \|_2

    Args: see :class:`KGEModel`; also ``margin`` (float): :math:`\gamma`, which only
        shifts scores. (default: :obj:`6.0`)
    """

    def _query(self, ent: Tensor, relation: Tensor) -> Tensor:
        return ent + self.relation(relation)


class RotatE(_DistanceModel):
    r"""RotatE from Sun et al. (2019), `RotatE: Knowledge Graph Embedding by Relational
    Rotation in Complex Space <https://arxiv.org/abs/1902.10197>`_.

    .. math::
        d(h, r, t) = \gamma - \| \mathbf{e}_h \circ \mathbf{e}_r - \mathbf{e}_t \|_2,
        \quad |e_{r,i}| = 1

    Relations are phases ``shape: (2R, dim)``; entities ``[real | imaginary]``,
    ``shape: (N, 2 * dim)``. The norm is the Euclidean norm of the whole complex vector.

    Args: see :class:`KGEModel`; also ``margin`` (float). (default: :obj:`6.0`)
    """

    entity_factor = 2

    def reset_parameters(self) -> None:
        nn.init.normal_(self.entity.weight, std=self.init_scale)
        nn.init.uniform_(self.relation.weight, -math.pi, math.pi)

    def _query(self, ent: Tensor, relation: Tensor) -> Tensor:
        h_re, h_im = ent.chunk(2, dim=-1)
        phase = self.relation(relation)
        c, s = torch.cos(phase), torch.sin(phase)
        return torch.cat([h_re * c - h_im * s, h_re * s + h_im * c], dim=-1)

    def _cubed_norm(self, x: Tensor) -> Tensor:
        if x.shape[-1] == self.dim:  # phases: nothing to penalise
            return x.new_zeros(x.shape[:-1])
        re, im = x.chunk(2, dim=-1)
        return (re * re + im * im).pow(1.5).sum(-1)
