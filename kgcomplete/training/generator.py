"""Training the node generator by node dropout, and the spread of its codes.

:func:`fit_generator` trains a :class:`~kgcomplete.models.generator.NodeGenerator` the way
it is used (see that module for the model): each step masks a tenth of the entities,
drops their edges from message passing, reveals a random share of each masked entity's
edges to the posterior and reconstructs its label, edges and edge counts, with the KL
weight annealed from 0. At the end it fits a :class:`LatentMixture` to the posterior means
of the existing entities: free generation samples codes from it.

Example:
    >>> fitted = fit_generator(graph, epochs=50, progress=False)      # doctest: +SKIP
    >>> fitted.model.mixture_.sample(3)                                # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor, reciprocal_queries
from kgcomplete.models.generator import LatentMixture, NodeGenerator, encode_entities
from kgcomplete.models.neighbour_votes import fit_vote_weight, neighbour_votes
from kgcomplete.models.vgae import kl_divergence
from kgcomplete.proposals.entities import relationship_sets
from kgcomplete.pyg import scatter
from kgcomplete.training.loop import TrainingLoop, seed_everything, set_threads


def fit_mixture(codes: Tensor, labels: Tensor, components: int = 64, iterations: int = 20,
                seed: int = 0) -> LatentMixture:
    """Fit up to ``components`` diagonal Gaussians per label (k-means, then the members'
    mean and spread; at least 5 entities a component).

    Many small components make a sharp prior: codes drawn from a few wide ones fall between
    the kinds of entity and decode to blurred sets. On codex-s (seeds 0-2) free proposals
    matched held-out entities with F1 0.324 from 64 components against 0.292 from 4 (both
    4 codes a proposal), and 0.334 from 64 components with 32 codes against 0.324 from 4
    with 64 codes.
    """
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


#: Entities from which the generator gets its full size (hidden width 256, context messages
#: as wide as the link embeddings); smaller graphs get :data:`SMALL_HIDDEN`.
FULL_SIZE_FROM = 1_000
SMALL_HIDDEN = 64


def generator_size(graph: KGraph, hidden: int | None = None) -> dict[str, int | None]:
    """Model sizes and epochs of :func:`fit_generator` for ``graph``.

    The rule: from :data:`FULL_SIZE_FROM` entities up, ``hidden = 256``, context messages
    as wide as the link embeddings and at most 100 epochs; below, ``hidden = 64``
    (:data:`SMALL_HIDDEN`), context messages of that width too (the sample's 14 nodes under
    a 1,000-wide link predictor: about 0.6M parameters instead of 6.9M) and at most 50
    epochs (the KL weight then reaches its final value in 15, and early stopping decides).
    Each step masks ``mask_fraction`` of the entities but at least 2, and an epoch has as
    many steps as it takes to mask every training entity about once.
    """
    small = graph.num_entities < FULL_SIZE_FROM
    h = hidden if hidden is not None else (SMALL_HIDDEN if small else 256)
    return {"hidden": h, "context_dim": h if small else None, "epochs": 50 if small else 100}


@dataclass
class GeneratorFit:
    """What :func:`fit_generator` returns.

    Attributes:
        model: the trained :class:`NodeGenerator` (eval mode), with ``model.graph_`` the
            training graph and ``model.mixture_`` its :class:`LatentMixture`; the state of
            the best validation (see :func:`fit_generator`).
        history: one dict per epoch: ``epoch``, ``loss``, ``edges``, ``degree``, ``label``,
            ``kl`` (per entity), ``beta``, ``kl_weighted`` (``beta * kl``, what the loss
            pays), ``link``, ``seconds`` and, once the KL weight is final, ``valid``.
        epochs: epochs run; seconds: wall-clock training time.
        stop_reason: one of :data:`~kgcomplete.training.loop.STOP_REASONS`.
        best_epoch: the epoch whose state the model holds.
        warm_start: the previous run's generator was carried over (:mod:`kgcomplete.training.generator_store`).
    """

    model: NodeGenerator
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    stop_reason: str = "max_epochs"
    best_epoch: int = 0
    warm_start: bool = False


def fit_generator(graph: KGraph, *, link_model: LinkPredictor | None = None, epochs: int | None = None,
                  mask_fraction: float = 0.1, lr: float = 5e-3, dim: int = 64, hidden: int | None = None,
                  kl_weight: float = 0.1, anneal: float = 0.3, link_weight: float = 1.0,
                  link_batch: int = 512, adversarial: bool = False, adversarial_weight: float = 0.1,
                  valid_fraction: float = 0.1, patience: int | None = 5, max_seconds: float | None = None,
                  seed: int = 0, progress: bool = True, threads: int | None = None,
                  should_stop: Callable[[], bool] | None = None, init: NodeGenerator | None = None) -> GeneratorFit:
    """Train a :class:`NodeGenerator` on ``graph`` by node dropout, sized to the graph
    (:func:`generator_size`), stopping early on held-out entities.

    A share ``valid_fraction`` of the entities with edges (at least 2, at most 200) is never
    masked in training; after each epoch once the KL weight is final they are masked
    together, half their edges (fixed) revealed, and the reconstruction of all their edges,
    counts and labels from the posterior means is the validation score. Training stops after
    ``patience`` validations without improvement and keeps the best state. The validation
    entities then fit the weight of the neighbour votes in K-shot completion
    (:meth:`~kgcomplete.models.generator.NodeGenerator.completion_logits`).

    Args:
        graph: the existing graph (labels are what the label head predicts).
        link_model: a trained ComplEx whose embeddings the decoder shares (frozen); a fresh
            one trained jointly when ``None``. (default: :obj:`None`)
        epochs: at most this many epochs; an epoch masks every training entity about once.
            ``None``: sized to the graph. (default: :obj:`None`)
        mask_fraction: share of entities masked per step (at least 2); on codex-s a tenth
            reached early stopping on every seed, 5% hit a 120 s budget on 2 of 5; matched F1
            0.305 against 0.296 (``benchmarks/results/node_generator_2026-12-06_mask10_*``).
            (default: :obj:`0.1`)
        lr: Adam learning rate. (default: :obj:`5e-3`)
        dim: decoder complex dimension (fresh link only). (default: :obj:`64`)
        hidden: hidden width; ``None`` sizes it to the graph. (default: :obj:`None`)
        kl_weight: final KL weight; 1 is the ELBO, less keeps the codes informative
            (a beta-VAE). (default: :obj:`0.1`)
        anneal: share of the run (epochs, or ``max_seconds`` if sooner) over which the KL
            weight rises from 0. (default: :obj:`0.3`)
        link_weight: weight of the auxiliary 1-N link loss. (default: :obj:`1.0`)
        link_batch: triples per step for that loss. (default: :obj:`512`)
        adversarial: train an ARGVA discriminator on the codes. (default: :obj:`False`)
        adversarial_weight: weight of the encoder's adversarial term. (default: :obj:`0.1`)
        valid_fraction: entities held out of masking for validation (0: none, no early
            stopping). (default: :obj:`0.1`)
        patience: validations without improvement before stopping (``None``: never).
            (default: :obj:`5`)
        max_seconds: stop after this much training time. (default: :obj:`None`)
        init: a generator for this graph to start from (a warm start) instead of a fresh one;
            it keeps its own sizes. (default: :obj:`None`)
        seed, progress, threads, should_stop: as in :func:`kgcomplete.training.fit.fit`.

    Raises:
        GraphError: the graph has no triples or too few entities to mask.
    """
    set_threads(threads)
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
    size = generator_size(graph, hidden)
    model = init if init is not None else NodeGenerator(
        graph.num_entities, graph.num_relations, len(graph.labels), link=link_model,  # type: ignore[arg-type]
        dim=dim, num_features=width_in, adversarial=adversarial, hidden=size["hidden"],  # type: ignore[arg-type]
        context_dim=size["context_dim"])
    model.prepare(graph)
    if frozen:
        model.link.requires_grad_(False)
    disc = list(model.discriminator.parameters()) if model.discriminator is not None else []
    main = [p for p in model.parameters() if p.requires_grad and all(p is not d for d in disc)]
    opt = torch.optim.Adam(main, lr=lr, foreach=True)  # one kernel per op over all tensors: a fifth off a step on small graphs
    disc_opt = torch.optim.Adam(disc, lr=1e-3) if disc else None
    triples = torch.from_numpy(graph.triples)
    inc = torch.from_numpy(graph.incident_edges())
    mean_degree = max(1.0, len(inc) / graph.num_entities)
    gen = torch.Generator().manual_seed(seed)
    active = torch.from_numpy(np.unique(graph.triples[:, [0, 2]]))  # only entities with edges are masked
    active, valid = _valid_split(active, valid_fraction, gen)
    n_mask = min(len(active), max(2, int(round(mask_fraction * len(active)))))
    steps = math.ceil(len(active) / n_mask)
    epochs = epochs if epochs is not None else int(size["epochs"])  # type: ignore[arg-type]
    loop = TrainingLoop(model, epochs=epochs, patience=patience if len(valid) else None, max_seconds=max_seconds,
                        should_stop=should_stop, progress=progress, desc="NodeGenerator",
                        show={"loss": ".3g", "kl_weighted": ".3g", "beta": ".2g"})
    valid_gen_state = torch.Generator().manual_seed(seed + 1).get_state()
    for epoch in loop:
        model.train()
        done = (epoch - 1) / epochs  # share of the run so far: epochs or time, whichever is further
        if max_seconds:
            done = max(done, loop.seconds / max_seconds)
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
        record = {"beta": beta, **{k: v / steps for k, v in sums.items()}}
        record["kl_weighted"] = beta * record["kl"]
        score = None
        if len(valid) and beta >= kl_weight:
            fixed = torch.Generator()
            fixed.set_state(valid_gen_state)
            score = -_validation_loss(model, triples, inc, valid, fixed) / mean_degree
        loop.end_epoch(epoch, record, score)
    loop.restore_best()
    model.eval()
    if len(valid):
        fixed = torch.Generator()
        fixed.set_state(valid_gen_state)
        model.vote_weight.fill_(_fit_vote_weight(model, graph, triples, inc, valid, fixed))
    model.graph_ = graph
    model.mixture_ = fit_mixture(*encode_entities(model, graph), seed=seed)
    return GeneratorFit(model=model, history=loop.history, epochs=loop.epochs_run, seconds=loop.seconds,
                        stop_reason=loop.stop_reason, best_epoch=loop.best_epoch)


def _valid_split(active: Tensor, fraction: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(train, valid)`` entities: ``fraction`` of ``active`` (2 to 200) held out of
    masking, none when that would leave fewer than 4 to train on."""
    n = min(200, max(2, int(round(fraction * len(active))))) if fraction > 0 else 0
    if len(active) - n < 4:
        return active, active[:0]
    perm = active[torch.randperm(len(active), generator=gen)]
    return perm[n:], perm[:n]


@torch.no_grad()
def _validation_loss(model: NodeGenerator, triples: Tensor, inc: Tensor, valid: Tensor,
                     gen: torch.Generator) -> float:
    """Reconstruction loss of the ``valid`` entities, masked together, from the posterior
    means given half their edges (drawn by ``gen``, the same every call)."""
    model.eval()
    terms = _step_losses(model, triples, inc, valid, gen, 0, share=0.5, sample=False)
    model.train()
    return float(terms["edges"] + terms["degree"] + terms["label"])


@torch.no_grad()
def _fit_vote_weight(model: NodeGenerator, graph: KGraph, triples: Tensor, inc: Tensor, valid: Tensor,
                     gen: torch.Generator) -> float:
    """The neighbour-vote weight (:func:`~kgcomplete.models.neighbour_votes.fit_vote_weight`)
    that best completes the ``valid`` entities, masked together, each from ``ceil(degree **
    u)`` of its edges (``u`` uniform: log-uniform counts, so that entities known by one or
    two relationships, what completion is for, weigh as much as those known by many)."""
    N, R2 = model.num_entities, 2 * model.num_relations
    context, edges = _mask(triples, inc, valid, N)
    edges = edges[torch.randperm(len(edges), generator=gen)]
    edges = edges[torch.argsort(edges[:, 0], stable=True)]
    degree = torch.bincount(edges[:, 0], minlength=len(valid))
    position = torch.arange(len(edges)) - (torch.cumsum(degree, 0) - degree)[edges[:, 0]]
    count = torch.ceil(degree.float() ** torch.rand(len(valid), generator=gen)).long()
    shown = position < count[edges[:, 0]]
    revealed, hidden = edges[shown], edges[~shown]
    if not len(revealed) or not len(hidden):
        return 0.0
    mu, _ = model.posterior(model.encode_context(context), revealed, len(valid))
    votes = neighbour_votes(relationship_sets(graph.with_triples(context.numpy())), revealed.numpy(),
                            hidden[:, :2].numpy(), N)
    group = (edges[:, 0] * R2 + edges[:, 1]).numpy()   # (entity, relation): its other true targets are ranked out
    ids, inverse = np.unique(group, return_inverse=True)
    targets_of = sp.csr_matrix((np.ones(len(edges)), (inverse, edges[:, 2].numpy())), shape=(len(ids), N))
    others = torch.from_numpy(targets_of[np.searchsorted(ids, (hidden[:, 0] * R2 + hidden[:, 1]).numpy())].toarray() > 0)
    return fit_vote_weight(model.target_logits(mu[hidden[:, 0]], hidden[:, 1]), votes, hidden[:, 2], others)


def _mask(triples: Tensor, inc: Tensor, chosen: Tensor, num_entities: int) -> tuple[Tensor, Tensor]:
    """Mask the ``chosen`` entities: the triples left as context, and the chosen entities'
    edges to the rest as rows ``(local id, r2, neighbour)``, local ids in ``chosen`` order."""
    masked = torch.zeros(num_entities, dtype=torch.bool)
    masked[chosen] = True
    context = triples[~(masked[triples[:, 0]] | masked[triples[:, 2]])]
    local = torch.full((num_entities,), -1, dtype=torch.long)
    local[chosen] = torch.arange(len(chosen))
    edges = inc[masked[inc[:, 0]] & ~masked[inc[:, 2]]]
    return context, torch.stack([local[edges[:, 0]], edges[:, 1], edges[:, 2]], 1)


def _step_losses(model: NodeGenerator, triples: Tensor, inc: Tensor, chosen: Tensor, gen: torch.Generator,
                 link_batch: int, share: float | None = None, sample: bool = True) -> dict[str, Tensor]:
    """One node-dropout step: mask ``chosen``, encode each from a random share of its
    edges (``share`` for all when given), reconstruct all of them from a sampled code (the
    posterior mean when not ``sample``)."""
    n_mask = len(chosen)
    context, edges = _mask(triples, inc, chosen, model.num_entities)
    shares = torch.rand(n_mask, generator=gen) if share is None else torch.full((n_mask,), share)
    revealed = edges[torch.rand(len(edges), generator=gen) < shares[edges[:, 0]]]  # each its own share
    h = model.encode_context(context)
    mu, logvar = model.posterior(h, revealed, n_mask)
    z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar) if sample else mu
    counts = torch.zeros(n_mask, 2 * model.num_relations)
    counts.index_put_((edges[:, 0], edges[:, 1]), torch.ones(len(edges)), accumulate=True)
    terms = model.reconstruction(z, edges, counts, model.label[chosen])
    terms["kl"] = kl_divergence(mu, logvar)
    terms["z"] = z
    terms["link"] = z.new_zeros(())
    if link_batch and len(context):
        pick = context[torch.randint(len(context), (min(link_batch, len(context)),), generator=gen)]
        q = reciprocal_queries(pick, model.num_relations)
        terms["link"] = F.cross_entropy(model.link.score_queries(q[:, 0], q[:, 1]), q[:, 2])
    return terms
