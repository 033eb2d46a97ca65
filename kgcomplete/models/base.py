"""The one interface every link predictor speaks.

A :class:`LinkPredictor` scores ``(head, relation, tail)`` triples given as entity and
relation indices of the :class:`~kgcomplete.graph.KGraph` it was trained on. Callers use
three methods and never care which model they hold:

* :meth:`LinkPredictor.score_triples` - one score per triple, ``shape: (B,)``;
* :meth:`LinkPredictor.score_tails` - ``(head, relation)`` against every entity, ``(B, N)``;
* :meth:`LinkPredictor.score_heads` - ``(relation, tail)`` against every entity, ``(B, N)``.

Higher is more plausible. Models use *reciprocal relations* inside: relation ``r`` asked in
the head direction is relation ``r + R`` asked in the tail direction, so a subclass only
implements tail scoring for ``2R`` relations (:meth:`score_queries`). Callers always pass
original relation indices ``0..R-1``. By construction
``score_triples(h, r, t) == score_tails(h, r)[:, t]``.

Subclasses implement :meth:`encode` (entity representations, computed once per training
step or evaluation pass), :meth:`score_queries` and optionally :meth:`regularization`,
:meth:`prepare` (see the graph before training) and :meth:`auxiliary_loss`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kgcomplete.errors import GraphError


def reciprocal_queries(triples: Tensor, num_relations: int) -> Tensor:
    """Each triple ``(h, r, t)`` as the two queries ``(h, r, ?) -> t`` and ``(t, r + R, ?) -> h``.

    Args:
        triples: ``shape: (n, 3), dtype: long``.
        num_relations: ``R``.

    Returns:
        ``shape: (2n, 3)``: the triples, then their reciprocals (entity, relation, answer).
    """
    return torch.cat([triples, torch.stack([triples[:, 2], triples[:, 1] + num_relations, triples[:, 0]], 1)])


class LinkPredictor(nn.Module):
    """Base class of all link predictors.

    Args:
        num_entities (int): number of entities ``N``.
        num_relations (int): number of relation types ``R`` (without reciprocals).

    Attributes:
        entities: entity keys the model was trained on (set by ``fit`` / ``load_model``).
        relations: relationship types the model was trained on.
        hparams: constructor arguments, saved with the model.
        trainable: ``False`` for models fitted in :meth:`prepare` alone (heuristics).
    """

    trainable: bool = True
    #: scores the entities of a graph it was not trained on (:meth:`use_graph`)
    inductive: bool = False
    #: how a score meets :meth:`query_vectors` and :meth:`entity_vectors`: ``"inner_product"``
    #: (the score is ``q . e``), ``"distance"`` (it falls as ``||q - e||`` grows), or ``None``
    #: (no such form: candidate search scores every target)
    vector_form: str | None = None

    def __init__(self, num_entities: int, num_relations: int) -> None:
        super().__init__()
        if num_entities < 1 or num_relations < 1:
            raise GraphError(f"a link predictor needs at least one entity and one relation "
                             f"(got {num_entities} entities, {num_relations} relations)")
        self.num_entities = int(num_entities)
        self.num_relations = int(num_relations)
        self.entities: list[str] | None = None
        self.relations: list[str] | None = None
        self.hparams: dict[str, Any] = {}
        self._cache: tuple[tuple[int, ...], Any] | None = None

    # ------------------------------------------------------------------ to implement
    def encode(self) -> Any:
        """Entity representations for this step (e.g. a GNN forward pass); ``None`` for
        models that look their embeddings up directly."""
        return None

    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        """Score ``(entity, relation, ?)`` against every entity.

        Args:
            entity: ``shape: (B,), dtype: long``.
            relation: ``shape: (B,), dtype: long``, values in ``0..2R-1`` (``r + R`` is the
                reciprocal of ``r``).
            state: the output of :meth:`encode`.

        Returns:
            ``shape: (B, N)`` scores.
        """
        raise NotImplementedError

    def score_candidates(self, entity: Tensor, relation: Tensor, candidates: Tensor, state: Any = None) -> Tensor:
        """Score ``(entity, relation, ?)`` against ``candidates`` (``shape: (C,)``) only,
        ``shape: (B, C)``; used for sampled 1-N training on large graphs."""
        return self.score_queries(entity, relation, state)[:, candidates]

    def score_pairs(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        """Score ``(entity, relation, target)`` rows, ``shape: (B,)``. Subclasses override
        this with a cheaper form; it must agree with :meth:`score_queries`."""
        return self.score_queries(entity, relation, state).gather(1, target.view(-1, 1)).squeeze(1)

    def query_vectors(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        """The vector ``q`` of each ``(entity, relation, ?)`` query, ``shape: (B, D)``, that
        meets :meth:`entity_vectors` as :attr:`vector_form` says; only models with a
        ``vector_form`` have one."""
        raise NotImplementedError(f"{type(self).__name__} scores no query as a vector")

    def entity_vectors(self, state: Any = None) -> Tensor:
        """Every entity as the vector queries meet, ``shape: (N, D)``; see :meth:`query_vectors`."""
        raise NotImplementedError(f"{type(self).__name__} scores no query as a vector")

    def regularization(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        """Penalty added to the training loss for a batch of queries (N3, KL ...)."""
        return torch.zeros((), device=entity.device)

    def prepare(self, graph: Any) -> None:
        """See the training graph (:class:`~kgcomplete.graph.KGraph`) before training:
        GNNs store its edges and node features, heuristics mine their statistics."""

    def use_graph(self, graph: Any) -> None:
        """Score the entities of ``graph`` (a :class:`~kgcomplete.graph.KGraph` with the
        same relationship types, new entities included) without training: only models with
        ``inductive = True`` can."""
        raise GraphError(f"{type(self).__name__} keeps one vector per training entity: it cannot score the "
                         f"entities of another graph without training")

    def explain_paths(self, head: int, relation: int, tail: int, num_paths: int = 2
                      ) -> list[tuple[list[int], list[int], float]]:
        """The paths from ``head`` to ``tail`` that weigh most in the model's score of
        ``(head, relation, tail)``, best first: ``(nodes, steps, weight)`` with ``steps`` relation
        indices ``0..2R-1`` (``p >= R`` walks ``p - R`` backwards). Models that read no paths
        return none."""
        return []

    def hide_triples(self, triples: Tensor) -> None:
        """Leave these training triples (``(n, 3)`` rows ``(entity, relation, answer)``,
        relations ``0..2R-1``) out of the graph of the next training step, so a query cannot
        read its answer off its own edge; models that read no graph while scoring ignore it."""

    def auxiliary_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by :meth:`auxiliary_loss` with their own optimiser (e.g. an
        adversarial discriminator); excluded from the main optimiser."""
        return []

    def auxiliary_loss(self, state: Any) -> Tensor | None:
        """Loss of the auxiliary parameters for one step, or ``None``."""
        return None

    # ------------------------------------------------------------------ public scoring
    def score_triples(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        """Score triples, ``shape: (B,)``; equal to ``score_tails(head, relation)`` at ``tail``.

        Args:
            head, relation, tail: ``shape: (B,), dtype: long`` indices.
        """
        head, relation, tail = self._check(head, "head"), self._check_rel(relation), self._check(tail, "tail")
        return self.score_pairs(head, relation, tail, self.cached_state())

    def score_tails(self, head: Tensor, relation: Tensor) -> Tensor:
        """Score ``(head, relation, ?)`` against all entities, ``shape: (B, N)``."""
        head, relation = self._check(head, "head"), self._check_rel(relation)
        return self.score_queries(head, relation, self.cached_state())

    def score_heads(self, relation: Tensor, tail: Tensor) -> Tensor:
        """Score ``(?, relation, tail)`` against all entities, ``shape: (B, N)``."""
        relation, tail = self._check_rel(relation), self._check(tail, "tail")
        return self.score_queries(tail, relation + self.num_relations, self.cached_state())

    def relation_id(self, name: str) -> int:
        """Index of a relationship type by name; :class:`GraphError` if the model never saw it."""
        if self.relations is None:
            raise GraphError("this model has no relation names; train it with fit() or load it with load_model()")
        try:
            return self.relations.index(name)
        except ValueError:
            known = ", ".join(self.relations[:10]) + (" ..." if len(self.relations) > 10 else "")
            raise GraphError(f"unknown relation {name!r}: the model was trained on {known}") from None

    # ------------------------------------------------------------------ helpers
    def cached_state(self) -> Any:
        """:meth:`encode`, cached in eval/no-grad mode until a parameter changes."""
        if self.training or torch.is_grad_enabled():
            return self.encode()
        key = tuple(p._version for p in self.parameters()) + tuple(id(b) for b in self.buffers())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self.encode())
        return self._cache[1]

    def _device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device("cpu")

    def _check(self, index: Tensor, what: str) -> Tensor:
        index = torch.as_tensor(index, dtype=torch.long, device=self._device()).view(-1)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.num_entities):
            raise GraphError(f"{what} index out of range 0..{self.num_entities - 1}: the model "
                             f"was trained on {self.num_entities} entities")
        return index

    def _check_rel(self, relation: Tensor) -> Tensor:
        relation = torch.as_tensor(relation, dtype=torch.long, device=self._device()).view(-1)
        if relation.numel() and (int(relation.min()) < 0 or int(relation.max()) >= self.num_relations):
            bad = int(relation.min()) if int(relation.min()) < 0 else int(relation.max())
            raise GraphError(f"unknown relation index {bad}: the model was trained on "
                             f"{self.num_relations} relations (0..{self.num_relations - 1})")
        return relation

    def load_state(self, state: dict[str, Tensor]) -> None:
        """Load a state dict, resizing buffers whose size depends on the training graph."""
        for name, buf in list(self.named_buffers()):
            if name in state and state[name].shape != buf.shape:
                module = self.get_submodule(name.rpartition(".")[0]) if "." in name else self
                module._buffers[name.rpartition(".")[2]] = torch.empty_like(state[name])
        self.load_state_dict(state)
        self._cache = None

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.hparams.items())
