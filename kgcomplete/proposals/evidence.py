"""Evidence: short reasons an analyst can check in the graph, and the path rules behind them.

A suggestion's evidence is up to three lines: firing path rules with their confidence
(:class:`~kgcomplete.models.heuristics.PathRules`), and neighbours of the head that have
the same relationship to the tail. The rule scores also feed the calibration.

Example:
    >>> rules = mine_rules(graph)                                       # doctest: +SKIP
    >>> evidence(graph, rules, head=0, relation=3, tail=7)              # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import torch

from kgcomplete.graph import KGraph
from kgcomplete.models.heuristics import PathRules


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
    out = [f"{text} [confidence {conf:.2f}]" for text, conf in rules.explain(head, relation, tail, max_paths=2)]
    if len(out) < limit:
        mask = graph.triples[:, 1] == relation
        has = set(graph.triples[mask & (graph.triples[:, 2] == tail)][:, 0].tolist())
        t = graph.triples
        nbrs = set(t[t[:, 0] == head][:, 2].tolist()) | set(t[t[:, 2] == head][:, 0].tolist())
        shared = sorted(nbrs & has)[:3]
        if shared:
            who = ", ".join(graph.display_name(x) for x in shared)
            out.append(f"neighbours of {graph.display_name(head)} with {graph.relations[relation]} -> "
                       f"{graph.display_name(tail)}: {who}")
    return out[:limit]
