"""Heuristic link predictors: common neighbours, Adamic-Adar and relation-path rules.

They need no gradient training: :meth:`prepare` reads the training graph (``fit`` calls it)
and scoring is sparse-matrix arithmetic. :class:`PathRules` also explains its scores:
:meth:`PathRules.explain` lists the rules and paths that support a triple, the evidence
shown with a suggestion.

Example:
    >>> rules = fit("path_rules", ds.train).model
    >>> rules.explain(head=3, relation=1, tail=7)
    [('e3 -[next]-> e4 -[skip]-> e7  (jump(X,Y) <= next(X,Z), skip(Z,Y))', 0.97)]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgcomplete.models.base import LinkPredictor


def _adjacency(edges: np.ndarray, n: int) -> sp.csr_matrix:
    """Binary ``(n, n)`` CSR matrix with a one at every ``(head, tail)`` of ``edges``."""
    m = sp.csr_matrix((np.ones(len(edges), dtype=np.float32), (edges[:, 0], edges[:, 1])), shape=(n, n))
    m.data[:] = 1.0
    return m


class _Neighbourhood(LinkPredictor):
    """Shared parts of the neighbourhood scores on the undirected graph (no self loops).

    Args:
        num_entities (int), num_relations (int): graph size.
        relation_aware (bool): count neighbours through edges of the query's relation
            type only; otherwise through any edge (the textbook, relation-blind score).
            (default: :obj:`True`)
    """

    trainable = False

    def __init__(self, num_entities: int, num_relations: int, relation_aware: bool = True) -> None:
        super().__init__(num_entities, num_relations)
        self.relation_aware = bool(relation_aware)
        self.hparams = dict(relation_aware=self.relation_aware)
        self.register_buffer("edges", torch.zeros(0, 3, dtype=torch.long))
        self._adj: dict[int, sp.csr_matrix] = {}

    def prepare(self, graph: Any) -> None:
        self.edges = torch.as_tensor(graph.triples, dtype=torch.long).clone()
        self._adj = {}

    def _undirected(self, relation: int) -> sp.csr_matrix:
        """Neighbourhood matrix for a relation (``-1``: all relations), weighted per node."""
        if relation not in self._adj:
            e = self.edges.numpy()
            if relation >= 0:
                e = e[e[:, 1] == relation]
            e = e[e[:, 0] != e[:, 2]]
            a = _adjacency(np.concatenate([e[:, [0, 2]], e[:, [2, 0]]]), self.num_entities)
            self._adj[relation] = a
        return self._adj[relation]

    def _weights(self, adj: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def load_state(self, state: dict[str, Tensor]) -> None:
        super().load_state(state)
        self._adj = {}

    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        ent, rel = entity.cpu().numpy(), (relation.cpu().numpy() % self.num_relations)
        out = np.zeros((len(ent), self.num_entities), dtype=np.float32)
        for r in np.unique(rel) if self.relation_aware else [-1]:
            rows = np.flatnonzero(rel == r) if r >= 0 else np.arange(len(ent))
            adj = self._undirected(int(r))
            weighted = adj[ent[rows]].multiply(self._weights(adj)[None, :]).tocsr()
            out[rows] = (weighted @ adj).toarray()
        out[np.arange(len(ent)), ent] = 0.0  # an entity is not its own common neighbour
        return torch.from_numpy(out).to(entity.device)


class CommonNeighbours(_Neighbourhood):
    r"""Common neighbours: :math:`s(h, r, t) = |\mathcal{N}(h) \cap \mathcal{N}(t)|`.

    Args: see :class:`_Neighbourhood`.
    """

    def _weights(self, adj: sp.csr_matrix) -> np.ndarray:
        return np.ones(adj.shape[0], dtype=np.float32)


class AdamicAdar(_Neighbourhood):
    r"""Adamic-Adar from Adamic & Adar (2003), `Friends and neighbors on the Web
    <https://doi.org/10.1016/S0378-8733(03)00009-1>`_: common neighbours weighted by
    the inverse log of their degree.

    .. math::
        s(h, r, t) = \sum_{z \in \mathcal{N}(h) \cap \mathcal{N}(t)} \frac{1}{\log |\mathcal{N}(z)|}

    Args: see :class:`_Neighbourhood`.
    """

    def _weights(self, adj: sp.csr_matrix) -> np.ndarray:
        deg = np.asarray(adj.sum(axis=1)).ravel()
        return np.where(deg > 1, 1.0 / np.log(np.maximum(deg, 2)), 0.0).astype(np.float32)


DENSE_CELLS = 20_000_000  # PathRules keeps dense adjacency up to this many cells (bytes)
#: PathRules mines length-two rules from at most about this many paths (sum of squared
#: degrees; codex-s has 8.2M): beyond, from the paths of a random share of the heads.
MINING_PATHS = 20_000_000


class PathRules(LinkPredictor):
    r"""Relation-path rules of length one and two, mined from the training graph, in the
    spirit of AnyBURL (Meilicke et al., 2019, `Anytime Bottom-Up Rule Learning for
    Knowledge Graph Completion <https://www.ijcai.org/proceedings/2019/435>`_).

    A rule ``r(X, Y) <= p1(X, Z), p2(Z, Y)`` (or ``<= p1(X, Y)``), where each ``p`` is a
    relation or an inverse relation, has confidence
    ``support / (body_count + smoothing)``. A triple's score is the noisy-or of the
    confidences of the rules whose body connects head and tail:

    .. math::
        s(h, r, t) = 1 - \prod_{\rho \in \text{rules}(r),\ \rho \text{ fires on } (h, t)} (1 - c_\rho)

    Args:
        num_entities (int), num_relations (int): graph size.
        max_length (int): longest rule body, 1 or 2. (default: :obj:`2`)
        min_support (int): fewest training triples a rule must predict. (default: :obj:`2`)
        max_rules (int): rules kept per relation and direction, best first.
            (default: :obj:`50`)
        smoothing (float): pseudo-count added to the body count. (default: :obj:`5.0`)
    """

    trainable = False

    def __init__(self, num_entities: int, num_relations: int, max_length: int = 2, min_support: int = 2,
                 max_rules: int = 50, smoothing: float = 5.0) -> None:
        super().__init__(num_entities, num_relations)
        self.max_length, self.min_support = int(max_length), int(min_support)
        self.max_rules, self.smoothing = int(max_rules), float(smoothing)
        self.hparams = dict(max_length=self.max_length, min_support=self.min_support,
                            max_rules=self.max_rules, smoothing=self.smoothing)
        self.register_buffer("edges", torch.zeros(0, 3, dtype=torch.long))
        # rule rows: (query relation 0..2R-1, p1, p2 or -1); body relations 0..2R-1
        self.register_buffer("rule_index", torch.zeros(0, 3, dtype=torch.long))
        self.register_buffer("rule_confidence", torch.zeros(0))
        self._mats: list[sp.csr_matrix] | None = None
        self._dense_mats: np.ndarray | None = None

    # ------------------------------------------------------------------ mining
    def _matrices(self) -> list[sp.csr_matrix]:
        """Adjacency of every relation (``p < R``) and inverse relation (``p >= R``)."""
        if self._mats is None:
            e = self.edges.numpy()
            fwd = [_adjacency(e[e[:, 1] == r][:, [0, 2]], self.num_entities) for r in range(self.num_relations)]
            self._mats = fwd + [m.T.tocsr() for m in fwd]
        return self._mats

    def prepare(self, graph: Any) -> None:
        """Mine the rules: for each first body step ``p1``, one sparse product
        ``A_p1 @ [A_0 | ... | A_2R-1]`` gives the pairs every body ``(p1, p2)`` connects; the
        training triples on those pairs are counted by binary search, all ``p2`` at once.

        On graphs with more than :data:`MINING_PATHS` paths of length two, length-two
        bodies are counted from a fixed random share of the heads ``X`` only, so supports
        and body counts shrink alike and confidences stay unbiased."""
        self.edges = torch.as_tensor(graph.triples, dtype=torch.long).clone()
        self._mats, self._dense_mats = None, None
        mats, R, N = self._matrices(), self.num_relations, self.num_entities
        t = np.asarray(graph.triples, dtype=np.int64)
        degree = np.bincount(t[:, [0, 2]].ravel(), minlength=N).astype(np.float64)
        share = min(1.0, MINING_PATHS / max(float((degree ** 2).sum()), 1.0))
        heads = None if share >= 1.0 else np.flatnonzero(np.random.default_rng(0).random(N) < share)
        self.mining_share = 1.0 if heads is None else len(heads) / max(N, 1)   # heads whose paths were counted
        order = np.argsort(t[:, 0] * N + t[:, 2], kind="stable")
        pairs, pair_rel = (t[order, 0] * N + t[order, 2]), t[order, 1]
        found: list[np.ndarray] = []   # rows (relation, p1, p2, confidence), in mining order

        def add(p1: int, body: sp.spmatrix, blocks: int, length_one: bool, rows: np.ndarray | None = None) -> None:
            """Rules with first step ``p1`` whose body pairs are ``body`` (``blocks`` column
            blocks of width N, one per second step ``p2``; its rows are the heads ``rows``,
            default all)."""
            coo = body.tocoo()
            head = coo.row.astype(np.int64) if rows is None else rows[coo.row]
            block, keys = coo.col // N, head * N + coo.col % N
            lo, hi = np.searchsorted(pairs, keys, "left"), np.searchsorted(pairs, keys, "right")
            hits = hi - lo
            at = np.repeat(lo - np.cumsum(hits) + hits, hits) + np.arange(int(hits.sum()))
            support = np.bincount(np.repeat(block, hits) * R + pair_rel[at], minlength=blocks * R).reshape(blocks, R)
            count = np.bincount(block, minlength=blocks)
            b, r = np.nonzero(support >= self.min_support)
            if length_one:  # r(X,Y) <= r(X,Y) is trivially true
                b, r = b[r != p1], r[r != p1]
            conf = support[b, r] / (count[b] + self.smoothing)
            found.append(np.stack([r, np.full_like(r, p1), b if not length_one else np.full_like(r, -1), conf], 1))

        for p1 in range(2 * R):
            if mats[p1].nnz:
                add(p1, mats[p1], 1, True)
        if self.max_length >= 2:
            stacked = sp.hstack(mats, format="csr")
            for p1 in range(2 * R):
                if mats[p1].nnz:
                    first = mats[p1] if heads is None else mats[p1][heads]
                    add(p1, first @ stacked, 2 * R, False, heads)
        rows = self._best_rules(np.concatenate(found) if found else np.zeros((0, 4)))
        self.rule_index = torch.tensor([r[:3] for r in rows], dtype=torch.long).view(-1, 3)
        self.rule_confidence = torch.tensor([r[3] for r in rows], dtype=torch.float32)

    def _best_rules(self, found: np.ndarray) -> list[tuple[int, int, int, float]]:
        """Top ``max_rules`` rules per relation (``found`` rows: relation, p1, p2,
        confidence; ties keep mining order); each also serves the reciprocal query with its
        body reversed and inverted: ``r^-1(Y, X) <= p2^-1(Y, Z), p1^-1(Z, X)``."""
        R, out = self.num_relations, []
        inv = lambda p: (p + R) % (2 * R)
        order = np.lexsort((np.arange(len(found)), -found[:, 3], found[:, 0]))
        rel = found[order, 0]
        rank = np.arange(len(order)) - np.searchsorted(rel, rel, "left")  # position within its relation
        for r, p1, p2, conf in found[order[rank < self.max_rules]].tolist():
            r, p1, p2 = int(r), int(p1), int(p2)
            out.append((r, p1, p2, conf))
            out.append((r + R, inv(p1), -1, conf) if p2 < 0 else (r + R, inv(p2), inv(p1), conf))
        return out

    # ------------------------------------------------------------------ scoring
    def score_queries(self, entity: Tensor, relation: Tensor, state: Any = None) -> Tensor:
        mats, N = self._matrices(), self.num_entities
        ent, rel = entity.cpu().numpy(), relation.cpu().numpy()
        log_miss = np.zeros((len(ent), N), dtype=np.float64)
        rules, conf = self.rule_index.numpy(), self.rule_confidence.numpy()
        for q in np.unique(rel).tolist():
            rows = np.flatnonzero(rel == q)
            for (_, p1, p2), c in zip(rules[rules[:, 0] == q], conf[rules[:, 0] == q]):
                reach = mats[p1][ent[rows]]
                if p2 >= 0:
                    reach = reach @ mats[p2]
                reach = reach.tocoo()
                np.add.at(log_miss, (rows[reach.row], reach.col), np.log1p(-min(float(c), 1 - 1e-6)))
        return torch.from_numpy((1.0 - np.exp(log_miss)).astype(np.float32)).to(entity.device)

    def _dense(self) -> np.ndarray | None:
        """``(2R, N, N)`` boolean adjacency of every (inverse) relation when it is small
        (at most ``DENSE_CELLS`` cells): on small graphs, indexing it costs microseconds per
        rule where a sparse matrix costs a millisecond."""
        if self._dense_mats is None and 2 * self.num_relations * self.num_entities ** 2 <= DENSE_CELLS:
            self._dense_mats = np.stack([m.toarray() != 0 for m in self._matrices()])
        return self._dense_mats

    def score_pairs(self, entity: Tensor, relation: Tensor, target: Tensor, state: Any = None) -> Tensor:
        """The same noisy-or as :meth:`score_queries`, computed pair by pair, so memory grows
        with the number of pairs, not of entities (relations ``>= num_relations`` are the
        reciprocal queries)."""
        mats, R, dense = self._matrices(), self.num_relations, self._dense()
        ent, rel, tgt = (v.cpu().numpy() for v in (entity, relation, target))
        log_miss = np.zeros(len(ent))
        for (q, p1, p2), c in zip(self.rule_index.tolist(), self.rule_confidence.tolist()):
            rows = np.flatnonzero(rel == q)
            if rows.size == 0:
                continue
            if dense is not None:
                e, t = ent[rows], tgt[rows]
                fired = dense[p1][e, t] if p2 < 0 else (dense[p1][e] & dense[(p2 + R) % (2 * R)][t]).any(axis=1)
            elif p2 < 0:
                fired = np.asarray(mats[p1][ent[rows], tgt[rows]]).ravel() != 0
            else:  # a middle node Z with p1(entity, Z) and p2(Z, target), i.e. p2^-1(target, Z)
                fired = mats[p1][ent[rows]].multiply(mats[(p2 + R) % (2 * R)][tgt[rows]]).getnnz(axis=1) > 0
            log_miss[rows[fired]] += np.log1p(-min(float(c), 1 - 1e-6))
        return torch.from_numpy((1.0 - np.exp(log_miss)).astype(np.float32)).to(entity.device)

    # ------------------------------------------------------------------ evidence
    def rules(self, relation: int | None = None) -> list[dict[str, Any]]:
        """Mined rules (tail direction), best first: ``{"rule", "relation", "confidence"}``."""
        out = []
        for (q, p1, p2), c in zip(self.rule_index.tolist(), self.rule_confidence.tolist()):
            if q < self.num_relations and (relation is None or q == relation):
                out.append({"rule": self._rule_text(q, p1, p2), "relation": q, "confidence": c})
        return sorted(out, key=lambda d: -d["confidence"])

    def witnesses(self, head: int, relation: int, tail: int, max_paths: int = 3) -> list[dict[str, Any]]:
        """The rules that fire on ``(head, relation, tail)``, most confident first, with the
        paths that make them fire: ``{"rule", "q", "p1", "p2", "confidence", "paths", "more"}``
        where each path is ``(nodes, steps)``: entity indices from head to tail and body
        relations (``p >= num_relations``: walked against the relationship's direction);
        at most ``max_paths`` per rule, ``more`` counts the others."""
        self._check(torch.tensor([head, tail]), "entity")
        self._check_rel(torch.tensor([relation]))
        mats, R, dense, out = self._matrices(), self.num_relations, self._dense(), []
        for (q, p1, p2), c in zip(self.rule_index.tolist(), self.rule_confidence.tolist()):
            if q != relation:
                continue
            if p2 < 0:
                fires = dense[p1][head, tail] if dense is not None else mats[p1][head, tail]
                middle: list[int] = [-1] if fires else []
            elif dense is not None:   # Z with p1(head, Z) and p2(Z, tail), i.e. p2^-1(tail, Z)
                middle = np.flatnonzero(dense[p1][head] & dense[(p2 + R) % (2 * R)][tail]).tolist()
            else:
                middle = np.intersect1d(mats[p1][head].indices, mats[(p2 + R) % (2 * R)][tail].indices).tolist()
            if not middle:
                continue
            paths = [([head, tail], [p1]) if z < 0 else ([head, int(z), tail], [p1, p2]) for z in middle[:max_paths]]
            out.append({"rule": self._rule_text(q, p1, p2), "q": q, "p1": p1, "p2": p2, "confidence": c,
                        "paths": paths, "more": max(0, len(middle) - max_paths)})
        return sorted(out, key=lambda w: -w["confidence"])

    def explain(self, head: int, relation: int, tail: int, max_paths: int = 3) -> list[tuple[str, float]]:
        """Why ``(head, relation, tail)`` is plausible: each firing rule as
        ``(path description, confidence)``, most confident first; ``[]`` when no rule fires.

        Args:
            head, relation, tail: entity and relation indices.
            max_paths: witness paths shown per rule. (default: :obj:`3`)
        """
        return [(self.describe_witness(w), w["confidence"]) for w in self.witnesses(head, relation, tail, max_paths)]

    def describe_witness(self, w: dict[str, Any], name: Any = None) -> str:
        """One line for a witness of :meth:`witnesses` (``name``: entity index -> text)."""
        name = name or self._name
        paths = "; ".join(" ".join([name(nodes[0])] + [f"{self._arrow(p)} {name(n)}" for p, n in zip(steps, nodes[1:])])
                          for nodes, steps in w["paths"])
        more = f" (+{w['more']} more)" if w["more"] else ""
        return f"{paths}{more}  ({w['rule']})"

    def _rel_name(self, p: int) -> str:
        r = p % self.num_relations
        return self.relations[r] if self.relations else f"r{r}"

    def _arrow(self, p: int) -> str:
        return f"-[{self._rel_name(p)}]->" if p < self.num_relations else f"<-[{self._rel_name(p)}]-"

    def _atom(self, p: int, a: str, b: str) -> str:
        return f"{self._rel_name(p)}({a},{b})" if p < self.num_relations else f"{self._rel_name(p)}({b},{a})"

    def _rule_text(self, q: int, p1: int, p2: int) -> str:
        body = self._atom(p1, "X", "Y") if p2 < 0 else f"{self._atom(p1, 'X', 'Z')}, {self._atom(p2, 'Z', 'Y')}"
        return f"{self._rel_name(q)}(X,Y) <= {body}"

    def _name(self, e: int) -> str:
        return self.entities[e] if self.entities else str(e)

    def load_state(self, state: dict[str, Tensor]) -> None:
        super().load_state(state)
        self._mats, self._dense_mats = None, None
