r"""The node generator: a variational graph autoencoder that proposes *new* entities.

A new entity has no embedding of its own, so everything about it is inferred from its
relationships: the latent code :math:`z` of an entity is a posterior over what its typed
neighbourhood says (Kipf & Welling, 2016, `Variational Graph Auto-Encoders
<https://arxiv.org/abs/1611.07308>`_, with an R-GCN message function, Schlichtkrull et al.,
2018). Relations are seen from the entity: ``r`` in ``0..R-1`` is an edge
``entity -r-> neighbour`` ("out"), ``r + R`` an edge ``neighbour -r-> entity`` ("in").

* **Context**: existing entities get ``h = E + W x`` (``E`` the link predictor's entity
  embeddings, ``x`` labels and standardised features) refined by one R-GCN layer over the
  graph without the masked entities' edges.
* **Posterior**: an R-GCN layer *without a self term* aggregates ``W_r h_j`` over the
  revealed edges ``(r, j)`` of the entity, plus the log-counts of edges per relation, into
  a mean :math:`\mu` and a log-variance :math:`\log\sigma^2`;
  :math:`z = \mu + \epsilon \exp(\tfrac12\log\sigma^2)` while training.
* **Decoder**: a label distribution (linear head); an expected number of edges
  :math:`\lambda_r` per relation and direction (Poisson head, so degree and relation mix are
  learned); and a distribution :math:`\pi_r` over targets of the right type, scored by the
  shared ComplEx link decoder with :math:`z` in the place of a head embedding. The
  probability of an edge to ``t`` is :math:`1 - \exp(-\lambda_r \pi_{r,t})`.
* **Training** is node dropout, the way the generator is used: each step masks a tenth
  of the entities, drops their edges from message passing, reveals a random share
  of each masked entity's edges to the posterior and reconstructs its label, all its edges
  and its edge counts (softmax over type-correct targets only). The KL term is annealed
  from 0 to ``kl_weight``; an auxiliary 1-N link-prediction loss on the remaining edges
  trains the shared embeddings. ``adversarial=True`` adds an ARGVA discriminator (Pan et
  al., 2018) that pushes the codes towards :math:`\mathcal{N}(0, I)`. The training loop is
  :func:`kgcomplete.training.generator.fit_generator`.
* **Completion** of an entity known by a few relationships (K-shot): the decoder's target
  logits given the posterior of those relationships, plus the weighted log of the
  :mod:`~kgcomplete.models.neighbour_votes` (what entities sharing them link to), the
  weight fitted on validation entities (:meth:`NodeGenerator.completion_logits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.kge import ComplEx
from kgcomplete.models.neighbour_votes import vote_logits
from kgcomplete.models.vgae import MAX_LOGVAR
from kgcomplete.pyg import scatter

WRONG_TYPE = -30.0  # logit penalty of a target whose label never takes this relation


def primary_labels(graph: KGraph) -> np.ndarray:
    """Each entity's most common label (index into ``graph.labels``), ``-1`` without one.

    ``shape: (N,), dtype: int64``. The broadest label is the one a proposal predicts
    (``human`` rather than ``American film actor``).
    """
    if not graph.labels:
        return np.full(graph.num_entities, -1, dtype=np.int64)
    sizes = graph.entity_labels.sum(axis=0)  # type: ignore[union-attr]
    score = np.where(graph.entity_labels, sizes[None, :], -1)
    out = score.argmax(axis=1)
    out[~graph.entity_labels.any(axis=1)] = -1  # type: ignore[union-attr]
    return out.astype(np.int64)


class RelationalMean(nn.Module):
    r"""An R-GCN layer (basis decomposition, mean over each relation's neighbours) that
    aggregates per (target, relation) group before transforming, so its cost grows with
    the groups rather than with edges times bases.

    .. math::
        \mathbf{h}_i' = \mathbf{W}_0 \mathbf{h}_i + \sum_{r} \frac{1}{|\mathcal{N}_r(i)|}
        \sum_{j \in \mathcal{N}_r(i)} \mathbf{W}_r \mathbf{h}_j, \qquad
        \mathbf{W}_r = \sum_b a_{rb} \mathbf{V}_b

    Args:
        in_dim (int), out_dim (int), num_relations (int), num_bases (int): as
            :class:`~kgcomplete.models.rgcn.RGCNLayer`.
        root (bool): include :math:`\mathbf{W}_0 \mathbf{h}_i` (``False``: a bias only, for
            targets that have no representation of their own). (default: :obj:`True`)
    """

    def __init__(self, in_dim: int, out_dim: int, num_relations: int, num_bases: int = 4, root: bool = True) -> None:
        super().__init__()
        self.num_relations = num_relations
        self.bases = nn.Parameter(torch.empty(num_bases * in_dim, out_dim))
        self.coefficients = nn.Parameter(torch.empty(num_relations, num_bases))
        self.root = nn.Linear(in_dim, out_dim) if root else None
        self.bias = nn.Parameter(torch.zeros(out_dim))
        nn.init.xavier_uniform_(self.bases)
        nn.init.xavier_uniform_(self.coefficients)

    def forward(self, x: Tensor, src: Tensor, dst: Tensor, relation: Tensor, num_targets: int) -> Tensor:
        """Messages ``x[src] -> dst`` (``dst`` in ``0..num_targets-1``), returns
        ``shape: (num_targets, out_dim)``."""
        R = self.num_relations
        groups, group = torch.unique(dst * R + relation, return_inverse=True)
        mean = scatter(x[src], group, dim=0, dim_size=len(groups), reduce="mean")  # (G, in)
        mixed = (self.coefficients[groups % R][:, :, None] * mean[:, None, :]).flatten(1)  # (G, B * in)
        out = scatter(mixed, groups // R, dim=0, dim_size=num_targets, reduce="sum") @ self.bases + self.bias
        return out + self.root(x[:num_targets]) if self.root is not None else out


@dataclass
class LatentMixture:
    """Per-label diagonal Gaussian mixtures fitted to posterior means (free generation).

    Attributes:
        label: ``shape: (C,)`` label of each component (-1: unlabelled entities).
        weight: ``shape: (C,)`` mixing weights (entities per component / all).
        mean, std: ``shape: (C, width)``.
    """

    label: Tensor
    weight: Tensor
    mean: Tensor
    std: Tensor

    def sample(self, count: int, label: int | None = None, generator: torch.Generator | None = None
               ) -> tuple[Tensor, Tensor]:
        """``count`` codes and their component labels, optionally of one label only."""
        w = self.weight.clone()
        if label is not None:
            w = w * (self.label == label)
            if float(w.sum()) == 0:
                raise GraphError(f"no existing entity has label index {label}: nothing to sample from")
        comp = torch.multinomial(w / w.sum(), count, replacement=True, generator=generator)
        eps = torch.randn(count, self.mean.shape[1], generator=generator)
        return self.mean[comp] + eps * self.std[comp], self.label[comp]

    def quotas(self, count: int) -> dict[int, int]:
        """``count`` split over the labels by their weight (largest remainders), so that a
        sample of ``count`` proposals has the labels' proportions.

        Example:
            >>> mixture.quotas(10)                                  # doctest: +SKIP
            {0: 6, 1: 3, 2: 1}
        """
        labels = torch.unique(self.label)
        share = np.array([float(self.weight[self.label == lab].sum()) for lab in labels])
        share = share * count / share.sum()
        out = np.floor(share).astype(np.int64)
        out[np.argsort(-(share - out), kind="stable")[:count - int(out.sum())]] += 1
        return {int(lab): int(q) for lab, q in zip(labels.tolist(), out) if q > 0}



class NodeGenerator(nn.Module):
    """Encoder, posterior and decoder of the node generator (see the module docstring).

    Args:
        num_entities (int), num_relations (int), num_labels (int): graph size.
        link (ComplEx): the link predictor whose entity and relation embeddings the decoder
            shares; a fresh ComplEx of ``dim`` when ``None``. (default: :obj:`None`)
        dim (int): complex dimension of a fresh link decoder. (default: :obj:`64`)
        hidden (int): width of the posterior and degree layers. (default: :obj:`256`)
        num_bases (int): R-GCN basis matrices. (default: :obj:`4`)
        num_features (int): width of the node input ``x``. (default: :obj:`0`)
        adversarial (bool): add an ARGVA discriminator on the codes. (default: :obj:`False`)
        context_dim (int, optional): width of the context layer; below the link width a
            linear map takes the entities down to it and another brings the result back
            (far fewer parameters and multiplications on a small graph with a wide link
            predictor).
            ``None``: the link width. (default: :obj:`None`)
    """

    graph_: KGraph | None = None  # the training graph, set by fit_generator
    mixture_: LatentMixture | None = None  # the prior of free generation, set by fit_generator
    vote_weight: Tensor  # the neighbour votes' weight in completion_logits (a buffer), set by fit_generator

    def __init__(self, num_entities: int, num_relations: int, num_labels: int, link: ComplEx | None = None,
                 dim: int = 64, hidden: int = 256, num_bases: int = 4, num_features: int = 0,
                 adversarial: bool = False, context_dim: int | None = None) -> None:
        super().__init__()
        if link is not None and not isinstance(link, ComplEx):
            raise GraphError(f"the node generator shares a ComplEx decoder; got {type(link).__name__}")
        self.num_entities, self.num_relations, self.num_labels = num_entities, num_relations, num_labels
        self.link = link if link is not None else ComplEx(num_entities, num_relations, dim=dim, init_scale=0.1)
        width = self.link.entity.weight.shape[1]
        self.width, R2 = width, 2 * num_relations
        self.inputs = nn.Linear(num_features, width, bias=False) if num_features else None
        ctx = min(context_dim, width) if context_dim is not None else width
        self.context_in = nn.Linear(width, ctx, bias=False) if ctx < width else None
        self.context = RelationalMean(ctx, ctx, R2, num_bases)
        self.context_out = nn.Linear(ctx, width, bias=False) if ctx < width else None
        self.hparams = dict(dim=width // 2, hidden=hidden, num_bases=num_bases, num_features=num_features,
                            adversarial=adversarial, context_dim=context_dim)
        self.message = RelationalMean(width, hidden, R2, num_bases, root=False)
        self.counts = nn.Linear(R2, hidden)
        self.mu_head, self.logvar_head = nn.Linear(hidden, width), nn.Linear(hidden, width)
        self.implied_scale = nn.Parameter(torch.ones(()))
        nn.init.zeros_(self.logvar_head.weight)
        nn.init.constant_(self.logvar_head.bias, -4.0)
        self.label_head = nn.Linear(width, max(num_labels, 1))
        self.degree_head = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, R2))
        self.discriminator = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, 1)) if adversarial else None
        self.register_buffer("x", torch.zeros(num_entities, num_features))
        self.register_buffer("label", torch.full((num_entities,), -1, dtype=torch.long))
        self.register_buffer("allowed", torch.ones(R2, num_entities, dtype=torch.bool))
        self.register_buffer("vote_weight", torch.zeros(()))  # of the neighbour votes; fit_generator fits it

    # ------------------------------------------------------------------ graph
    def prepare(self, graph: KGraph) -> None:
        """Store node inputs, primary labels and the targets of each relation: entities
        with a relationship whose label is seen at that end of the relation."""
        self.x = torch.from_numpy(graph.node_inputs())
        self.label = torch.from_numpy(primary_labels(graph))
        degree = np.bincount(graph.triples[:, [0, 2]].ravel(), minlength=graph.num_entities)
        self.allowed = type_constraints(graph, self.label) & torch.from_numpy(degree > 0)[None, :]

    def encode_context(self, triples: Tensor) -> Tensor:
        """Representations of the existing entities given the ``(n, 3)`` context triples,
        ``shape: (N, width)``."""
        h = self.link.entity.weight
        if self.inputs is not None:
            h = h + self.inputs(self.x)
        R = self.num_relations
        src, dst = torch.cat([triples[:, 0], triples[:, 2]]), torch.cat([triples[:, 2], triples[:, 0]])
        rel = torch.cat([triples[:, 1], triples[:, 1] + R])
        if self.context_in is None or self.context_out is None:
            return h + torch.tanh(self.context(h, src, dst, rel, h.shape[0]))
        return h + torch.tanh(self.context_out(self.context(self.context_in(h), src, dst, rel, h.shape[0])))

    def posterior(self, h: Tensor, edges: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of the codes of ``num_nodes`` entities from their revealed
        edges ``(node, r2, neighbour)`` (``node`` in ``0..num_nodes-1``), each
        ``shape: (num_nodes, width)``. An entity without edges gets the learned default."""
        a = self.message(h, edges[:, 2], edges[:, 0], edges[:, 1], num_nodes)
        counts = torch.zeros(num_nodes, 2 * self.num_relations, device=h.device)
        counts.index_put_((edges[:, 0], edges[:, 1]), torch.ones(len(edges), device=h.device), accumulate=True)
        a = torch.relu(a + self.counts(torch.log1p(counts)))
        # what the decoder itself says each edge implies: conj(w_r) * e_j scores e_j highest
        re_r, im_r = self.link.relation(edges[:, 1]).chunk(2, dim=-1)
        re_e, im_e = self.link.entity.weight[edges[:, 2]].chunk(2, dim=-1)
        implied = torch.cat([re_r * re_e + im_r * im_e, re_r * im_e - im_r * re_e], dim=-1)
        implied = scatter(implied, edges[:, 0], dim=0, dim_size=num_nodes, reduce="mean")
        mu = self.mu_head(a) + self.implied_scale * implied
        return mu, self.logvar_head(a).clamp(-MAX_LOGVAR, MAX_LOGVAR)

    # ------------------------------------------------------------------ decoder
    def label_logits(self, z: Tensor) -> Tensor:
        """``shape: (M, max(L, 1))`` label logits."""
        return self.label_head(z)

    def rates(self, z: Tensor) -> Tensor:
        """Expected number of edges per relation and direction, ``shape: (M, 2R)``."""
        return F.softplus(self.degree_head(z))

    def target_logits(self, z: Tensor, relation: Tensor) -> Tensor:
        """Logits of every entity as the neighbour over ``relation`` (``r2``), with wrong-type
        targets penalised, ``shape: (B, N)`` for ``z (B, width)``, ``relation (B,)``."""
        scores = self.link.query(z, relation) @ self.link.entity.weight.t()
        return scores + (~self.allowed[relation]).float() * WRONG_TYPE

    def completion_logits(self, z: Tensor, relation: Tensor, votes: Tensor | None = None) -> Tensor:
        """Target logits of entities known by some relationships: :meth:`target_logits`
        plus their :mod:`~kgcomplete.models.neighbour_votes` ``votes (B, N)`` weighted by
        ``vote_weight``; the decoder alone when ``votes`` is ``None``."""
        logits = self.target_logits(z, relation)
        return logits if votes is None else logits + vote_logits(votes, self.vote_weight)

    def edge_probabilities(self, z: Tensor) -> Tensor:
        r""":math:`P(\text{edge } r, t) = 1 - \exp(-\lambda_r \pi_{r,t})`, ``shape: (M, 2R, N)``."""
        M, R2 = z.shape[0], 2 * self.num_relations
        rel = torch.arange(R2, device=z.device).repeat(M)
        pi = torch.softmax(self.target_logits(z.repeat_interleave(R2, 0), rel), dim=1).view(M, R2, -1)
        return 1.0 - torch.exp(-self.rates(z)[:, :, None] * pi)

    def reconstruction(self, z: Tensor, edges: Tensor, counts: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Negative log-likelihood terms summed per entity and averaged over the ``M`` codes:
        ``edges`` (all true edges, node-local), ``counts (M, 2R)``, ``labels (M,)`` (-1: none)."""
        M = z.shape[0]
        groups, group = torch.unique(edges[:, 0] * 2 * self.num_relations + edges[:, 1], return_inverse=True)
        logp = torch.log_softmax(self.target_logits(z[groups // (2 * self.num_relations)],
                                                    groups % (2 * self.num_relations)), dim=1)
        edge_nll = -logp[group, edges[:, 2]].sum() / M  # one softmax per (entity, relation)
        degree_nll = F.poisson_nll_loss(self.rates(z), counts, log_input=False, reduction="sum") / M
        has = labels >= 0
        label_nll = F.cross_entropy(self.label_logits(z[has]), labels[has], reduction="sum") / M \
            if self.num_labels and bool(has.any()) else z.new_zeros(())
        return {"edges": edge_nll, "degree": degree_nll, "label": label_nll}


def type_constraints(graph: KGraph, label: Tensor) -> Tensor:
    """``allowed[r2, t]``: an entity with ``t``'s primary label is a neighbour over ``r2``
    somewhere in ``graph`` (all targets allowed without labels), ``shape: (2R, N)``."""
    R2, n = 2 * graph.num_relations, graph.num_entities
    if not graph.labels or graph.num_triples == 0:
        return torch.ones(R2, n, dtype=torch.bool)
    inc = torch.from_numpy(graph.incident_edges())
    L = len(graph.labels) + 1  # last column: no label
    lab = torch.where(label < 0, L - 1, label)
    seen = torch.zeros(R2, L, dtype=torch.bool)
    seen[inc[:, 1], lab[inc[:, 2]]] = True
    return seen[:, lab]


@torch.no_grad()
def encode_entities(model: NodeGenerator, graph: KGraph, entities: np.ndarray | None = None
                    ) -> tuple[Tensor, Tensor]:
    """Posterior means of existing ``entities`` (default: all with an edge) from all their
    edges, and their primary labels: ``(M, width)``, ``(M,)``."""
    inc = torch.from_numpy(graph.incident_edges())
    if entities is None:
        entities = np.unique(inc[:, 0].numpy())
    ent = torch.as_tensor(entities, dtype=torch.long)
    local = torch.full((graph.num_entities,), -1, dtype=torch.long)
    local[ent] = torch.arange(len(ent))
    edges = inc[local[inc[:, 0]] >= 0]
    edges = torch.stack([local[edges[:, 0]], edges[:, 1], edges[:, 2]], 1)
    h = model.encode_context(torch.from_numpy(graph.triples))
    mu, _ = model.posterior(h, edges, len(ent))
    return mu, model.label[ent]
