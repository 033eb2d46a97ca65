"""Suggestions: the best candidates, with calibrated probabilities and evidence.

:func:`suggest` runs the candidate search (:mod:`~kgcomplete.proposals.candidates`),
gives each candidate its probability (:mod:`~kgcomplete.proposals.calibration`), keeps the
most probable and explains each (:mod:`~kgcomplete.proposals.evidence`).

Example:
    >>> calib = Calibrator.fit_heldout(model, train, valid)                 # doctest: +SKIP
    >>> props = suggest(model, train, calib, SuggestPolicy(top_k=3))       # doctest: +SKIP
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from kgcomplete.graph import KGraph
from kgcomplete.models.base import LinkPredictor
from kgcomplete.models.heuristics import PathRules
from kgcomplete.proposals.blocked import BlockedTriples
from kgcomplete.proposals.calibration import Calibrator
from kgcomplete.proposals.candidates import SuggestPolicy, find_candidates
from kgcomplete.proposals.evidence import mine_rules, model_reasons, reasons, rule_scores
from kgcomplete.records import Suggestion

Triple = tuple[str, str, str]

__all__ = ["Calibrator", "SuggestPolicy", "suggest"]


@torch.no_grad()
def suggest(model: LinkPredictor, graph: KGraph, calibrator: Calibrator, policy: SuggestPolicy | None = None,
            *, exclude: Sequence[Triple] = (), model_name: str | None = None, rules: PathRules | None = None,
            explain: bool = True, batch_size: int = 512, progress: bool = False,
            echo: Callable[[str], None] = lambda _: None) -> list[Suggestion]:
    """Top candidates of ``model`` on ``graph`` (its training vocabulary), filtered,
    calibrated and (with ``explain``) given evidence; most probable first. ``exclude``
    holds (head key, type, tail key) that must not be proposed (pending and rejected
    suggestions). ``rules`` (mined from ``graph`` when needed and not given) feed the
    evidence and, when the calibrator weighs them, the probabilities. ``progress`` shows bars
    (count and ETA) for the candidate search and the evidence; ``echo`` says which search ran."""
    policy = policy or SuggestPolicy()
    blocked = BlockedTriples.of(graph.triples, graph.index_triples(exclude), num_entities=graph.num_entities,
                                num_relations=graph.num_relations)
    found = find_candidates(model, graph, policy, blocked, batch_size=batch_size, progress=progress, echo=echo)
    echo(f"candidate search: {found.search}, {len(found)} candidates from "
         f"{sum(found.queries.values())} queries")
    if not len(found):
        return []
    trips, raw = found.triples, found.scores
    e, rel = graph.entities, graph.relations
    if rules is None and (explain or calibrator.uses_rules):
        rules = mine_rules(graph)
    fired = rule_scores(rules, trips) if rules is not None and calibrator.uses_rules else None
    probs = calibrator(raw, [(e[h], rel[r], e[t]) for h, r, t in trips.tolist()], fired)
    order = np.argsort(-probs, kind="stable")
    order = order[probs[order] >= policy.min_probability][: policy.max_total]
    label = model_name or type(model).__name__
    out = []
    names = graph.names or [""] * graph.num_entities
    for i in tqdm(order.tolist(), desc="evidence", unit="suggestion", disable=not (progress and explain) or None,
                  leave=False):
        h, r, t = trips[i].tolist()
        why = reasons(graph, rules, h, r, t) if explain and rules is not None else []
        if explain:   # the model's own paths (NBFNet), beside the rules' reasons
            why += model_reasons(graph, model, h, r, t)
        out.append(Suggestion(head=e[h], type=rel[r], tail=e[t], score=float(raw[i]), probability=float(probs[i]),
                              rank=int(found.ranks[i]), model=label, reasons=why,
                              head_name=names[h] if names[h] != e[h] else "",
                              tail_name=names[t] if names[t] != e[t] else "",
                              type_name=graph.relation_labels.get(rel[r], "")))
    return out
