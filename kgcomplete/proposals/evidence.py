"""Evidence: short reasons an analyst can check in the graph, and the path rules behind them.

A suggestion's evidence is up to three reasons (:class:`~kgcomplete.records.Reason`): firing
path rules with their confidence (:class:`~kgcomplete.models.heuristics.PathRules`), and
neighbours of the head that have the same relationship to the tail. Each reason cites the
real paths it rests on (node keys, relationship types, directions), so Neo4j Browser can draw
exactly those. The rule scores also feed the calibration.

Example:
    >>> rules = mine_rules(graph)                                       # doctest: +SKIP
    >>> evidence(graph, rules, head=0, relation=3, tail=7)              # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import torch

from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.heuristics import PathRules
from kgcomplete.records import CitedPath, Reason


def mine_rules(graph: KGraph) -> PathRules:
    rules = PathRules(graph.num_entities, graph.num_relations)
    rules.entities, rules.relations = list(graph.entities), list(graph.relations)
    rules.prepare(graph)
    return rules


def rule_scores(rules: PathRules, trips: np.ndarray) -> np.ndarray:
    """The rule score (noisy-or of the firing rules' confidences) of each (head, type, tail) row."""
    h, r, t = (torch.as_tensor(trips[:, i]) for i in range(3))
    return rules.score_triples(h, r, t).double().numpy()


def evidence(graph: KGraph, rules: PathRules, head: int, relation: int, tail: int, limit: int = 3) -> list[str]:
    """Up to ``limit`` short reasons for ``(head, relation, tail)`` an analyst can check."""
    return [r.text for r in reasons(graph, rules, head, relation, tail, limit)]


def reasons(graph: KGraph, rules: PathRules, head: int, relation: int, tail: int, limit: int = 3,
            max_paths: int = 2) -> list[Reason]:
    """Up to ``limit`` reasons for ``(head, relation, tail)``: the firing path rules, most
    confident first (each citing at most ``max_paths`` of the paths that make it fire), then
    the head's neighbours that have ``relation`` to the tail (citing up to three of them)."""
    out = []
    for w in rules.witnesses(head, relation, tail, max_paths=max_paths)[:limit]:
        paths = [_cited(graph, nodes, steps) for nodes, steps in w["paths"]]
        text = rules.describe_witness(w, graph.display_name)
        out.append(Reason(f"{text} [confidence {w['confidence']:.2f}]", "rule", float(w["confidence"]), paths))
    if len(out) < limit:
        neighbours = _neighbour_reason(graph, head, relation, tail)
        if neighbours is not None:
            out.append(neighbours)
    return out[:limit]


def model_reasons(graph: KGraph, model: LinkPredictor, head: int, relation: int, tail: int,
                  limit: int = 1) -> list[Reason]:
    """The paths that weigh most in the model's own score (:meth:`LinkPredictor.explain_paths`,
    e.g. NBFNet's edge-gradient beam search), one reason each, kind ``"model_path"``; its
    confidence is the path's share of the total weight of the paths found (none for models
    that read no paths)."""
    found = model.explain_paths(head, relation, tail, num_paths=max(limit, 3))
    if not found:
        return []
    total = sum(max(w, 0.0) for _, _, w in found) or 1.0
    out = []
    for nodes, steps, weight in found[:limit]:
        path = _cited(graph, nodes, steps)
        text = _path_text(graph, nodes, steps)
        out.append(Reason(f"{type(model).__name__} reads the path {text} [weight {weight:.3g}]", "model_path",
                          float(min(max(weight, 0.0) / total, 1.0)), [path]))
    return out


def _path_text(graph: KGraph, nodes: list[int], steps: list[int]) -> str:
    """``a -[r]-> b <-[s]- c``, with display names."""
    R = graph.num_relations
    parts = [graph.display_name(nodes[0])]
    for p, n in zip(steps, nodes[1:]):
        parts += [f"-[{graph.relations[p % R]}]->" if p < R else f"<-[{graph.relations[p % R]}]-", graph.display_name(n)]
    return " ".join(parts)


def _cited(graph: KGraph, nodes: list[int], steps: list[int]) -> CitedPath:
    """A rule witness (entity indices, body relations ``p``; ``p >= R`` walks backwards) in keys."""
    R = graph.num_relations
    return CitedPath([graph.entities[n] for n in nodes], [graph.relations[p % R] for p in steps],
                     [p < R for p in steps])


def _neighbour_reason(graph: KGraph, head: int, relation: int, tail: int, cite: int = 3) -> Reason | None:
    """Neighbours of the head that have ``relation`` to the tail, each cited by one path
    ``head -[any]- neighbour -[relation]-> tail``; confidence: their share of the head's neighbours."""
    into_tail = graph.in_edges(tail)
    has = set(into_tail[into_tail[:, 1] == relation][:, 0].tolist())
    out_edges, in_edges = graph.out_edges(head), graph.in_edges(head)
    first: dict[int, tuple[int, bool]] = {}   # neighbour -> (relation, head is its start)
    for _, r_, t_ in out_edges.tolist():
        first.setdefault(t_, (r_, True))
    for h_, r_, _ in in_edges.tolist():
        first.setdefault(h_, (r_, False))
    first.pop(head, None)
    first.pop(tail, None)
    shared = sorted(set(first) & has)
    if not shared:
        return None
    paths = [CitedPath([graph.entities[head], graph.entities[z], graph.entities[tail]],
                       [graph.relations[first[z][0]], graph.relations[relation]], [first[z][1], True])
             for z in shared[:cite]]
    who = ", ".join(graph.display_name(z) for z in shared[:cite]) + (f" (+{len(shared) - cite} more)"
                                                                      if len(shared) > cite else "")
    text = (f"neighbours of {graph.display_name(head)} with {graph.relations[relation]} -> "
            f"{graph.display_name(tail)}: {who}")
    return Reason(text, "neighbours", len(shared) / len(first), paths)
