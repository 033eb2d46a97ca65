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
* **Training** is node dropout, the way the generator is used: each step masks a few
  percent of the entities, drops their edges from message passing, reveals a random share
  of each masked entity's edges to the posterior and reconstructs its label, all its edges
  and its edge counts (softmax over type-correct targets only). The KL term is annealed
  from 0 to ``kl_weight``; an auxiliary 1-N link-prediction loss on the remaining edges
  trains the shared embeddings. ``adversarial=True`` adds an ARGVA discriminator (Pan et
  al., 2018) that pushes the codes towards :math:`\mathcal{N}(0, I)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter
from tqdm.auto import tqdm

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.kge import ComplEx
from kgcomplete.models.vgae import MAX_LOGVAR, kl_divergence
from kgcomplete.train import default_threads, seed_everything

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


def incident_edges(triples: np.ndarray, num_relations: int) -> np.ndarray:
    """Every triple seen from both ends: rows ``(entity, r2, neighbour)``, ``r2 = r`` for
    ``entity -r-> neighbour`` and ``r + R`` for ``neighbour -r-> entity``.
    ``shape: (2n, 3), dtype: int64``."""
    t = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    return np.concatenate([t, np.stack([t[:, 2], t[:, 1] + num_relations, t[:, 0]], 1)])


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
    """

    def __init__(self, num_entities: int, num_relations: int, num_labels: int, link: ComplEx | None = None,
                 dim: int = 64, hidden: int = 256, num_bases: int = 4, num_features: int = 0,
                 adversarial: bool = False) -> None:
        super().__init__()
        if link is not None and not isinstance(link, ComplEx):
            raise GraphError(f"the node generator shares a ComplEx decoder; got {type(link).__name__}")
        self.num_entities, self.num_relations, self.num_labels = num_entities, num_relations, num_labels
        self.link = link if link is not None else ComplEx(num_entities, num_relations, dim=dim, init_scale=0.1)
        width = self.link.entity.weight.shape[1]
        self.width, R2 = width, 2 * num_relations
        self.inputs = nn.Linear(num_features, width, bias=False) if num_features else None
        self.context = RelationalMean(width, width, R2, num_bases)
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

    # ------------------------------------------------------------------ graph
    def prepare(self, graph: KGraph) -> None:
        """Store node inputs, primary labels and the targets of each relation: entities
        with a relationship whose label is seen at that end of the relation."""
        labels = graph.entity_labels.astype(np.float32)  # type: ignore[union-attr]
        x = torch.from_numpy(np.concatenate([graph.features, labels], axis=1)).float()  # type: ignore[list-item]
        k = graph.features.shape[1]  # type: ignore[union-attr]
        if k:
            x[:, :k] = (x[:, :k] - x[:, :k].mean(0)) / x[:, :k].std(0).clamp_min(1e-6)
        self.x = x
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
        return h + torch.tanh(self.context(h, src, dst, rel, h.shape[0]))

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
        scores = self.link._rotate(z, relation) @ self.link.entity.weight.t()
        return scores + (~self.allowed[relation]).float() * WRONG_TYPE

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
    inc = torch.from_numpy(incident_edges(graph.triples, graph.num_relations))
    L = len(graph.labels) + 1  # last column: no label
    lab = torch.where(label < 0, L - 1, label)
    seen = torch.zeros(R2, L, dtype=torch.bool)
    seen[inc[:, 1], lab[inc[:, 2]]] = True
    return seen[:, lab]


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


def fit_mixture(codes: Tensor, labels: Tensor, components: int = 4, iterations: int = 20,
                seed: int = 0) -> LatentMixture:
    """Fit up to ``components`` diagonal Gaussians per label (k-means, then the members'
    mean and spread; at least 5 entities a component)."""
    gen = torch.Generator().manual_seed(seed)
    rows: list[tuple[int, int, Tensor, Tensor]] = []
    floor = codes.std(0).mean() * 0.05 + 1e-4
    for lab in torch.unique(labels).tolist():
        pts = codes[labels == lab]
        k = max(1, min(components, len(pts) // 5))
        centre = pts[torch.randperm(len(pts), generator=gen)[:k]]
        for _ in range(iterations):
            assign = torch.cdist(pts, centre).argmin(1)
            centre = scatter(pts, assign, dim=0, dim_size=k, reduce="mean")
        assign = torch.cdist(pts, centre).argmin(1)
        for c in range(k):
            member = pts[assign == c]
            if len(member):
                spread = member.std(0) if len(member) > 1 else torch.zeros_like(member[0])
                rows.append((lab, len(member), member.mean(0), spread.clamp_min(floor)))
    return LatentMixture(label=torch.tensor([r[0] for r in rows]), weight=torch.tensor([float(r[1]) for r in rows]),
                         mean=torch.stack([r[2] for r in rows]), std=torch.stack([r[3] for r in rows]))


@dataclass
class GeneratorFit:
    """What :func:`fit_generator` returns.

    Attributes:
        model: the trained :class:`NodeGenerator` (eval mode), with ``model.graph_`` the
            training graph and ``model.mixture_`` its :class:`LatentMixture`.
        history: one dict per epoch: ``epoch``, ``loss``, ``edges``, ``degree``, ``label``,
            ``kl``, ``beta``, ``link``, ``seconds``.
        epochs: epochs run; seconds: wall-clock training time.
    """

    model: NodeGenerator
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0


def fit_generator(graph: KGraph, *, link_model: LinkPredictor | None = None, epochs: int = 100,
                  mask_fraction: float = 0.05, lr: float = 5e-3, dim: int = 64, hidden: int = 256,
                  kl_weight: float = 0.1, anneal: float = 0.3, link_weight: float = 1.0,
                  link_batch: int = 1024, adversarial: bool = False, adversarial_weight: float = 0.1,
                  max_seconds: float | None = None, seed: int = 0, progress: bool = True,
                  threads: int | None = None, should_stop: Callable[[], bool] | None = None) -> GeneratorFit:
    """Train a :class:`NodeGenerator` on ``graph`` by node dropout.

    Args:
        graph: the existing graph (labels are what the label head predicts).
        link_model: a trained ComplEx whose embeddings the decoder shares (frozen); a fresh
            one trained jointly when ``None``. (default: :obj:`None`)
        epochs: epochs of ``ceil(1 / mask_fraction)`` steps. (default: :obj:`100`)
        mask_fraction: share of entities masked per step. (default: :obj:`0.05`)
        lr: Adam learning rate. (default: :obj:`5e-3`)
        dim, hidden: decoder complex dimension (fresh link only), hidden width.
        kl_weight: final KL weight; 1 is the ELBO, less keeps the codes informative
            (a beta-VAE). (default: :obj:`0.1`)
        anneal: share of the run (epochs, or ``max_seconds`` if sooner) over which the KL
            weight rises from 0. (default: :obj:`0.3`)
        link_weight: weight of the auxiliary 1-N link loss. (default: :obj:`1.0`)
        link_batch: triples per step for that loss. (default: :obj:`1024`)
        adversarial: train an ARGVA discriminator on the codes. (default: :obj:`False`)
        adversarial_weight: weight of the encoder's adversarial term. (default: :obj:`0.1`)
        max_seconds: stop after this much training time. (default: :obj:`None`)
        seed, progress, threads, should_stop: as in :func:`kgcomplete.train.fit`.

    Raises:
        GraphError: the graph has no triples or too few entities to mask.
    """
    torch.set_num_threads(threads or default_threads())
    seed_everything(seed)
    if graph.num_triples == 0 or graph.num_entities < 3:
        raise GraphError("the node generator needs a graph with triples and at least 3 entities")
    frozen = link_model is not None
    if link_model is not None and (link_model.num_entities, link_model.num_relations) != \
            (graph.num_entities, graph.num_relations):
        raise GraphError(f"link_model was trained on {link_model.num_entities} entities and "
                         f"{link_model.num_relations} relations, the graph has {graph.num_entities} and "
                         f"{graph.num_relations}: train it on this graph")
    width_in = graph.features.shape[1] + len(graph.labels)  # type: ignore[union-attr]
    model = NodeGenerator(graph.num_entities, graph.num_relations, len(graph.labels), link=link_model,  # type: ignore[arg-type]
                          dim=dim, hidden=hidden, num_features=width_in, adversarial=adversarial)
    model.prepare(graph)
    if frozen:
        model.link.requires_grad_(False)
    disc = list(model.discriminator.parameters()) if model.discriminator is not None else []
    main = [p for p in model.parameters() if p.requires_grad and all(p is not d for d in disc)]
    opt = torch.optim.Adam(main, lr=lr)
    disc_opt = torch.optim.Adam(disc, lr=1e-3) if disc else None
    triples = torch.from_numpy(graph.triples)
    inc = torch.from_numpy(incident_edges(graph.triples, graph.num_relations))
    mean_degree = max(1.0, len(inc) / graph.num_entities)
    gen = torch.Generator().manual_seed(seed)
    steps = math.ceil(1 / mask_fraction)
    active = torch.from_numpy(np.unique(graph.triples[:, [0, 2]]))  # only entities with edges are masked
    n_mask = max(1, int(round(mask_fraction * len(active))))
    result = GeneratorFit(model=model)
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), disable=not progress, desc="NodeGenerator", unit="epoch")
    for epoch in bar:
        model.train()
        done = (epoch - 1) / epochs  # share of the run so far: epochs or time, whichever is further
        if max_seconds:
            done = max(done, (time.perf_counter() - start) / max_seconds)
        beta = kl_weight * min(1.0, done / anneal) if anneal > 0 else kl_weight
        sums: dict[str, float] = {}
        for _ in range(steps):
            chosen = active[torch.randperm(len(active), generator=gen)[:n_mask]]
            terms = _step_losses(model, triples, inc, chosen, gen, link_batch if not frozen else 0)
            elbo = terms["edges"] + terms["degree"] + terms["label"] + beta * terms["kl"]
            loss = elbo / mean_degree + link_weight * terms["link"]
            if model.discriminator is not None:
                fooled = model.discriminator(terms["z"])
                loss = loss + adversarial_weight * F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if disc_opt is not None:
                z = terms["z"].detach()
                real, fake = model.discriminator(torch.randn_like(z)), model.discriminator(z)  # type: ignore[misc]
                d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
                    F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
                disc_opt.zero_grad()
                d_loss.backward()
                disc_opt.step()
            for k, v in terms.items():
                if k != "z":
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
        record = {"epoch": float(epoch), "beta": beta, **{k: v / steps for k, v in sums.items()},
                  "seconds": time.perf_counter() - start}
        result.history.append(record)
        result.epochs = epoch
        bar.set_postfix(loss=f"{record['loss']:.3f}", kl=f"{record['kl']:.1f}")
        if max_seconds is not None and record["seconds"] > max_seconds:
            break
        if should_stop is not None and should_stop():
            break
    bar.close()
    model.eval()
    model.graph_ = graph
    model.mixture_ = fit_mixture(*encode_entities(model, graph), seed=seed)
    result.seconds = time.perf_counter() - start
    return result


def _step_losses(model: NodeGenerator, triples: Tensor, inc: Tensor, chosen: Tensor, gen: torch.Generator,
                 link_batch: int) -> dict[str, Tensor]:
    """One node-dropout step: mask ``chosen``, encode each from a random share of its
    edges, reconstruct all of them."""
    N, n_mask = model.num_entities, len(chosen)
    masked = torch.zeros(N, dtype=torch.bool)
    masked[chosen] = True
    context = triples[~(masked[triples[:, 0]] | masked[triples[:, 2]])]
    local = torch.full((N,), -1, dtype=torch.long)
    local[chosen] = torch.arange(n_mask)
    edges = inc[masked[inc[:, 0]] & ~masked[inc[:, 2]]]
    edges = torch.stack([local[edges[:, 0]], edges[:, 1], edges[:, 2]], 1)
    share = torch.rand(n_mask, generator=gen)  # each masked entity reveals its own share
    revealed = edges[torch.rand(len(edges), generator=gen) < share[edges[:, 0]]]
    h = model.encode_context(context)
    mu, logvar = model.posterior(h, revealed, n_mask)
    z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar)
    counts = torch.zeros(n_mask, 2 * model.num_relations)
    counts.index_put_((edges[:, 0], edges[:, 1]), torch.ones(len(edges)), accumulate=True)
    terms = model.reconstruction(z, edges, counts, model.label[chosen])
    terms["kl"] = kl_divergence(mu, logvar)
    terms["z"] = z
    terms["link"] = z.new_zeros(())
    if link_batch and len(context):
        pick = context[torch.randint(len(context), (min(link_batch, len(context)),), generator=gen)]
        R = model.num_relations
        q = torch.cat([pick, torch.stack([pick[:, 2], pick[:, 1] + R, pick[:, 0]], 1)])
        terms["link"] = F.cross_entropy(model.link.score_queries(q[:, 0], q[:, 1]), q[:, 2])
    return terms


@torch.no_grad()
def encode_entities(model: NodeGenerator, graph: KGraph, entities: np.ndarray | None = None
                    ) -> tuple[Tensor, Tensor]:
    """Posterior means of existing ``entities`` (default: all with an edge) from all their
    edges, and their primary labels: ``(M, width)``, ``(M,)``."""
    inc = torch.from_numpy(incident_edges(graph.triples, graph.num_relations))
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
