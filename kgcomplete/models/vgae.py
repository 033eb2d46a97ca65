"""Variational and adversarially regularised graph autoencoders as link predictors.

* VGAE: Kipf & Welling (2016), `Variational Graph Auto-Encoders
  <https://arxiv.org/abs/1611.07308>`_.
* ARGVA: Pan et al. (2018), `Adversarially Regularized Graph Autoencoder for Graph
  Embedding <https://arxiv.org/abs/1802.04407>`_.

The encoder (an R-GCN layer over the training graph, see
:class:`~kgcomplete.models.rgcn.RGCN`) outputs a mean :math:`\\mu` and a
*log*-variance :math:`\\log\\sigma^2` per entity; the latent code is
:math:`z = \\mu + \\epsilon \\exp(\\tfrac12 \\log\\sigma^2)` while training and :math:`\\mu`
at inference. A ComplEx decoder scores relations from :math:`z`, so the autoencoders
predict typed links, not only "some edge".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgcomplete.models.rgcn import RGCN

MAX_LOGVAR = 10.0


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL divergence of :math:`\mathcal{N}(\mu, \exp(\log\sigma^2))` from
    :math:`\mathcal{N}(0, I)`, summed over dimensions and averaged over rows.

    .. math::
        -\tfrac12 \, \mathrm{mean}_i \sum_d \left(1 + \log\sigma^2_{id} - \mu_{id}^2
        - \exp(\log\sigma^2_{id})\right)

    Args:
        mu: ``shape: (N, d)`` means.
        logvar: ``shape: (N, d)`` log-variances (not variances, not standard deviations).
    """
    return -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))


class LatentCode(NamedTuple):
    """What the variational encoder returns: sampled code, mean, log-variance, each
    ``shape: (N, 2 * dim)``."""

    z: Tensor
    mu: Tensor
    logvar: Tensor


class VGAE(RGCN):
    r"""Variational graph autoencoder for typed links: R-GCN encoder with mean and
    log-variance heads, ComplEx decoder, loss = 1-N cross-entropy + ``kl_weight`` * KL.

    Args: as :class:`~kgcomplete.models.rgcn.RGCN`, plus
        kl_weight (float): weight of the KL term. Both the KL (per entity) and the 1-N loss
            (per query) are means, so one weight suits graphs of any size; Kipf & Welling's
            ``1 / num_entities`` over-regularises small graphs. (default: :obj:`1e-3`)
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 100, num_layers: int = 1,
                 num_bases: int = 4, num_features: int = 0, edge_dropout: float = 0.5, dropout: float = 0.1,
                 reg_weight: float = 0.0, init_scale: float = 0.1, kl_weight: float = 1e-3) -> None:
        super().__init__(num_entities, num_relations, dim, num_layers, num_bases, num_features, edge_dropout,
                         dropout, reg_weight, init_scale)
        self.kl_weight = float(kl_weight)
        self.hparams["kl_weight"] = self.kl_weight
        width = 2 * self.dim
        self.mu_head = nn.Linear(width, width)
        self.logvar_head = nn.Linear(width, width)
        nn.init.eye_(self.mu_head.weight)  # start as the R-GCN code itself
        nn.init.zeros_(self.mu_head.bias)
        nn.init.zeros_(self.logvar_head.weight)
        nn.init.constant_(self.logvar_head.bias, -8.0)  # start nearly deterministic

    def encode(self) -> LatentCode:  # type: ignore[override]
        h = super().encode()
        mu = self.mu_head(h)
        logvar = self.logvar_head(h).clamp(max=MAX_LOGVAR)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return LatentCode(z, mu, logvar)

    def entity_weights(self, state: Any) -> Tensor:
        if state is None:
            state = self.encode()
        return state.z

    def regularization(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        state = state if state is not None else self.encode()
        return super().regularization(entity, relation, target, state) + \
            self.kl_weight * kl_divergence(state.mu, state.logvar)


class ARGVA(VGAE):
    r"""Adversarially regularised variational graph autoencoder: a VGAE whose codes are
    also pushed towards the prior :math:`\mathcal{N}(0, I)` by a discriminator.

    The discriminator (an MLP) learns to tell prior samples (label 1) from codes (label 0)
    with its own optimiser (:meth:`auxiliary_loss`); the encoder is penalised by
    ``adversarial_weight * BCE(D(z), 1)`` (:meth:`regularization`).

    Args: as :class:`VGAE`, plus
        adversarial_weight (float): weight of the encoder's adversarial term.
            (default: :obj:`0.1`)
        hidden (int): discriminator width. (default: :obj:`64`)
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 100, num_layers: int = 1,
                 num_bases: int = 4, num_features: int = 0, edge_dropout: float = 0.5, dropout: float = 0.1,
                 reg_weight: float = 0.0, init_scale: float = 0.1, kl_weight: float = 1e-3,
                 adversarial_weight: float = 0.1, hidden: int = 64) -> None:
        super().__init__(num_entities, num_relations, dim, num_layers, num_bases, num_features, edge_dropout,
                         dropout, reg_weight, init_scale, kl_weight)
        self.adversarial_weight = float(adversarial_weight)
        self.hparams.update(adversarial_weight=self.adversarial_weight, hidden=int(hidden))
        self.discriminator = nn.Sequential(nn.Linear(2 * self.dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                           nn.ReLU(), nn.Linear(hidden, 1))

    def auxiliary_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def regularization(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        state = state if state is not None else self.encode()
        fooled = self.discriminator(state.z)
        return super().regularization(entity, relation, target, state) + \
            self.adversarial_weight * F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))

    def auxiliary_loss(self, state: Any) -> Tensor:
        z = state.z.detach()
        real, fake = self.discriminator(torch.randn_like(z)), self.discriminator(z)
        return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
