"""NBFNet with pruned, progressive propagation: a path-based GNN that scores entities it
never saw.

Zhu et al. (NeurIPS 2021), `Neural Bellman-Ford Networks <https://arxiv.org/abs/2106.06935>`_:
for a query ``(h, r, ?)`` every entity's representation is computed by message passing that
starts at ``h`` alone (the boundary condition is the query relation's vector at ``h``), so the
representation of ``t`` sums over the paths from ``h`` to ``t``. No parameter belongs to an
entity: a trained model scores any graph with the same relationship types
(:meth:`NBFNet.use_graph`).

Propagation is progressive and pruned, as in A*Net (Zhu et al., 2023) and AdaProp (Zhang et
al., 2023): layer ``l`` only sends messages from the entities reached so far (at most ``l``
hops from ``h``); with ``top_k``, after each layer only the ``top_k`` entities of highest
learned priority stay in each query's set (the priority gates their states, so the main loss
trains it); each entity sends along at most ``max_degree`` of its edges (a fixed random
subset) while training; scoring reads every edge (``score_max_degree``). Entities never
reached share one score per query.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from kgcomplete.errors import GraphError
from kgcomplete.models.base import LinkPredictor


class NBFLayer(nn.Module):
    """One Bellman-Ford step: DistMult messages ``h_u * w_q(r)`` with query-dependent
    relation vectors, sum aggregation with the boundary, linear update, layer norm, ReLU,
    shortcut; and (with pruning) a priority per reached entity."""

    def __init__(self, dim: int, num_relations: int) -> None:
        super().__init__()
        self.dim, self.num_relations = dim, num_relations
        # one (dim, dim) map and bias per relation: the relation's vector is a function of the
        # query's (rows follow relation names in warm starts)
        bound = 1.0 / dim ** 0.5
        self.relation_map = nn.Parameter(torch.empty(num_relations, dim, dim).uniform_(-bound, bound))
        self.relation_bias = nn.Parameter(torch.empty(num_relations, dim).uniform_(-bound, bound))
        self.update = nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.priority = nn.Linear(2 * dim, 1)

    def relations(self, query: Tensor) -> Tensor:
        """``(B, 2R, dim)`` relation vectors for each query."""
        return torch.einsum("bi,rio->bro", query, self.relation_map) + self.relation_bias


class NBFNet(LinkPredictor):
    r"""Neural Bellman-Ford network (Zhu et al., 2021) with progressive, pruned propagation.

    Args:
        num_entities (int), num_relations (int): graph size (entities may change later with
            :meth:`use_graph`; the relationship types may not).
        dim (int): width of the representations. (default: :obj:`32`)
        num_layers (int): propagation steps, the longest path read. (default: :obj:`4`)
        top_k (int): entities kept per query after each layer; ``0`` keeps all. (default: :obj:`100`)
        max_degree (int): edges an entity sends along per layer in training; ``0`` all.
            (default: :obj:`50`)
        score_max_degree (int): the same when scoring (evaluation, suggestions, explanations);
            ``0`` all. A hub's answers are reached only through its edges: on nell_v1's test
            graph, whose hub has 661 edges, reading all of them lifts the test MRR of one
            trained model from 0.576 to 0.740. (default: :obj:`0`)
        seed (int): seed of the edge subsets. (default: :obj:`0`)
    """

    optimizer = "adam"
    learning_rate = 5e-3
    inductive = True

    def __init__(self, num_entities: int, num_relations: int, dim: int = 32, num_layers: int = 4,
                 top_k: int = 100, max_degree: int = 50, score_max_degree: int = 0, seed: int = 0) -> None:
        super().__init__(num_entities, num_relations)
        self.dim, self.num_layers = int(dim), int(num_layers)
        self.top_k, self.max_degree, self.seed = int(top_k), int(max_degree), int(seed)
        self.score_max_degree = int(score_max_degree)
        self.hparams.update(dim=self.dim, num_layers=self.num_layers, top_k=self.top_k, max_degree=self.max_degree,
                            score_max_degree=self.score_max_degree, seed=self.seed)
        self.query = nn.Embedding(2 * num_relations, self.dim)
        self.layers = nn.ModuleList(NBFLayer(self.dim, 2 * num_relations) for _ in range(self.num_layers))
        self.mlp = nn.Sequential(nn.Linear(2 * self.dim, self.dim), nn.ReLU(), nn.Linear(self.dim, 1))
        for name in ("edge_src", "edge_dst", "edge_type", "edge_keys", "edge_order"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.long))
        self.register_buffer("rowptr", torch.zeros(num_entities + 1, dtype=torch.long))
        self._hidden: Tensor | None = None

    # ------------------------------------------------------------------ the graph it reads
    def prepare(self, graph: Any) -> None:
        self.use_graph(graph)

    def use_graph(self, graph: Any) -> None:
        """Read ``graph`` (a :class:`~kgcomplete.graph.KGraph`) as the graph to propagate over
        and rank against: its entities replace the model's (new ones included). Its
        relationship types are matched to the model's by name; edges of types the model was
        not trained on are ignored."""
        triples = np.asarray(graph.triples, dtype=np.int64).reshape(-1, 3)
        if self.relations is not None and list(graph.relations) != list(self.relations):
            known = {name: i for i, name in enumerate(self.relations)}
            mapping = np.array([known.get(name, -1) for name in graph.relations], dtype=np.int64)
            triples = triples.copy()
            triples[:, 1] = mapping[triples[:, 1]] if len(mapping) else triples[:, 1]
            triples = triples[triples[:, 1] >= 0]
        elif graph.num_relations > self.num_relations:
            raise GraphError(f"the graph has {graph.num_relations} relationship types; the model knows "
                             f"{self.num_relations} and has no names to match them by")
        self.set_edges(torch.as_tensor(triples), graph.num_entities)
        self.entities = list(graph.entities)

    def set_edges(self, triples: Tensor, num_entities: int) -> None:
        """Propagate over ``triples`` (``(n, 3)``, the model's relation indices) and their
        reciprocals, among ``num_entities`` entities."""
        if num_entities < 1:
            raise GraphError("a graph to score needs at least one entity")
        R, N = self.num_relations, int(num_entities)
        t = triples.long().view(-1, 3)
        src = torch.cat([t[:, 0], t[:, 2]])
        dst = torch.cat([t[:, 2], t[:, 0]])
        typ = torch.cat([t[:, 1], t[:, 1] + R])
        # sort by source; within a source a fixed random order, so max_degree keeps a random subset
        gen = torch.Generator().manual_seed(self.seed)
        shuffle = torch.randperm(len(src), generator=gen)
        order = shuffle[torch.argsort(src[shuffle], stable=True)]
        src, dst, typ = src[order], dst[order], typ[order]
        device = self.query.weight.device
        self.num_entities = N
        self.edge_src, self.edge_dst, self.edge_type = src.to(device), dst.to(device), typ.to(device)
        counts = torch.bincount(src, minlength=N)
        self.rowptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(counts, 0)]).to(device)
        keys = (src * (2 * R) + typ) * N + dst
        self.edge_order = torch.argsort(keys).to(device)
        self.edge_keys = keys[self.edge_order.cpu()].to(device)
        self._cache, self._hidden = None, None

    def hide_triples(self, triples: Tensor) -> None:
        """Leave the edges of ``triples`` (``(n, 3)``, both directions) out of the next
        training-mode scoring: a training query must not read its answer off its own edge."""
        t = triples.view(-1, 3).to(self.edge_keys.device)
        R, N = self.num_relations, self.num_entities
        flip = t[:, 1] >= R   # a reciprocal query (t, r + R, h) is the triple (h, r, t)
        t = torch.where(flip.unsqueeze(1), torch.stack([t[:, 2], t[:, 1] - R, t[:, 0]], 1), t)
        keys = torch.cat([(t[:, 0] * (2 * R) + t[:, 1]) * N + t[:, 2],
                          (t[:, 2] * (2 * R) + t[:, 1] + R) * N + t[:, 0]])
        pos = torch.searchsorted(self.edge_keys, keys).clamp(max=max(len(self.edge_keys) - 1, 0))
        found = self.edge_keys[pos] == keys if len(self.edge_keys) else torch.zeros_like(keys, dtype=torch.bool)
        mask = torch.zeros(len(self.edge_src), dtype=torch.bool, device=t.device)
        mask[self.edge_order[pos[found]]] = True
        self._hidden = mask

    # ------------------------------------------------------------------ propagation
    def propagate(self, entity: Tensor, relation: Tensor,
                  edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Message passing for the queries ``(entity, relation, ?)``.

        Returns:
            ``(keys, h, q)``: the reached ``(query, entity)`` pairs as sorted keys
            ``query * N + entity`` ``(M,)``, their states ``(M, dim)``, and the query vectors
            ``(B, dim)``. ``edge_weight`` ``(2E,)`` scales each edge's messages (for the
            gradient-based explanations).
        """
        B, N = len(entity), self.num_entities
        q = self.query(relation)
        heads = torch.arange(B, device=q.device) * N + entity
        keys, h = heads, q
        hidden = self._hidden if self.training else None
        degree = self.rowptr[1:] - self.rowptr[:-1]
        cap = self.max_degree if self.training else self.score_max_degree
        if cap > 0:
            degree = degree.clamp(max=cap)
        for i, module in enumerate(self.layers):
            layer = cast(NBFLayer, module)
            node, qb = keys % N, keys // N
            deg = degree[node]
            pair = torch.repeat_interleave(torch.arange(len(keys), device=q.device), deg)
            offset = torch.arange(len(pair), device=q.device) - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
            edge = self.rowptr[node][pair] + offset
            if hidden is not None:
                keep = ~hidden[edge]
                pair, edge = pair[keep], edge[keep]
            b = qb[pair]
            message = h[pair] * layer.relations(q)[b, self.edge_type[edge]]
            if edge_weight is not None:
                message = message * edge_weight[edge].unsqueeze(1)
            target = b * N + self.edge_dst[edge]
            present = torch.zeros(B * N, dtype=torch.bool, device=q.device)
            present[keys] = True
            present[target] = True
            new_keys = present.nonzero().squeeze(1)
            slot = torch.cumsum(present, 0) - 1
            agg = torch.zeros(len(new_keys), self.dim, device=q.device)
            agg = agg.index_add(0, slot[target], message).index_add(0, slot[heads], q)
            old = torch.zeros(len(new_keys), self.dim, device=q.device).index_copy(0, slot[keys], h)
            h = torch.relu(layer.norm(layer.update(torch.cat([old, agg], 1)))) + old
            keys = new_keys
            if self.top_k > 0 and i < self.num_layers - 1:
                keys, h = self._prune(layer, keys, h, q, heads)
        return keys, h, q

    def _prune(self, layer: NBFLayer, keys: Tensor, h: Tensor, q: Tensor, heads: Tensor) -> tuple[Tensor, Tensor]:
        """Gate the states by their priority and keep the ``top_k`` best per query (and the heads)."""
        N = self.num_entities
        qb = keys // N
        priority = layer.priority(torch.cat([h, q[qb]], 1)).squeeze(1)
        h = h * torch.sigmoid(priority).unsqueeze(1)
        counts = torch.bincount(qb, minlength=len(q))
        if int(counts.max()) <= self.top_k:
            return keys, h
        by_priority = torch.argsort(priority.detach(), descending=True, stable=True)
        order = by_priority[torch.argsort(qb[by_priority], stable=True)]
        position = torch.arange(len(keys), device=keys.device) - (torch.cumsum(counts, 0) - counts)[qb[order]]
        keep = torch.zeros(len(keys), dtype=torch.bool, device=keys.device)
        keep[order[position < self.top_k]] = True
        keep |= torch.isin(keys, heads)
        return keys[keep], h[keep]

    # ------------------------------------------------------------------ scoring
    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        B, N = len(entity), self.num_entities
        keys, h, q = self.propagate(entity, relation)
        reached = self.mlp(torch.cat([h, q[keys // N]], 1)).squeeze(1)
        unreached = self.mlp(torch.cat([torch.zeros_like(q), q], 1))  # (B, 1)
        return unreached.expand(B, N).reshape(-1).index_put((keys,), reached).view(B, N)

    def explain_paths(self, head: int, relation: int, tail: int, num_paths: int = 2, beam: int = 10
                      ) -> list[tuple[list[int], list[int], float]]:
        """NBFNet's interpretation: the gradient of the score of ``(head, relation, tail)``
        with respect to a weight on every edge is each edge's importance; a beam search (the
        ``beam`` best partial paths ending at each entity, per length up to ``num_layers``)
        finds the simple paths from ``head`` to ``tail`` of highest mean edge importance. Every
        step is a real edge of the graph read (``p >= R``: edge ``p - R`` walked backwards)."""
        N = self.num_entities
        weight = torch.ones(len(self.edge_src), device=self.edge_src.device, requires_grad=True)
        was_training = self.training
        self.eval()
        try:
            with torch.enable_grad():
                keys, h, q = self.propagate(torch.tensor([head], device=weight.device),
                                            torch.tensor([relation], device=weight.device), edge_weight=weight)
                at = (keys == tail).nonzero().squeeze(1)
                if len(at) == 0:   # the tail was never reached: no path carries its score
                    return []
                score = self.mlp(torch.cat([h[at], q[keys[at] // N]], 1)).sum()
                (grad,) = torch.autograd.grad(score, weight)
        finally:
            self.train(was_training)
        used = grad.nonzero().squeeze(1).tolist()
        importance = grad.detach().cpu().numpy()
        src, dst, typ = (x.cpu().numpy() for x in (self.edge_src, self.edge_dst, self.edge_type))
        out_edges: dict[int, list[int]] = {}
        for e in used:
            out_edges.setdefault(int(src[e]), []).append(e)
        frontier: list[tuple[float, list[int], list[int]]] = [(0.0, [head], [])]
        found: list[tuple[float, list[int], list[int]]] = []
        for _ in range(self.num_layers):
            grown: dict[int, list[tuple[float, list[int], list[int]]]] = {}
            for total, nodes, edges in frontier:
                for e in out_edges.get(nodes[-1], []):
                    v = int(dst[e])
                    if v in nodes:
                        continue
                    path = (total + float(importance[e]), nodes + [v], edges + [e])
                    (found if v == tail else grown.setdefault(v, [])).append(path)
            frontier = [p for paths in grown.values() for p in sorted(paths, key=lambda p: -p[0])[:beam]]
        # a path's weight: the mean importance of its edges (a sum would favour long paths)
        ranked = sorted(((total / len(edges), nodes, edges) for total, nodes, edges in found), key=lambda p: -p[0])
        return [(nodes, [int(typ[e]) for e in edges], weight) for weight, nodes, edges in ranked[:num_paths]]

    def load_state(self, state: dict[str, Tensor]) -> None:
        super().load_state(state)
        self.num_entities = len(self.rowptr) - 1
