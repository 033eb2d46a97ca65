"""Small planted-rule graphs whose right answers are known, for the model tests.

``planted_graph()`` puts 40 entities on a line and plants:

* ``next`` (i -> i+1), ``skip`` (i -> i+2) and ``jump`` (i -> i+3): ``jump`` is the
  composition ``next . skip``, so held-out ``jump`` triples follow from the others;
* ``same_group`` between entities with equal ``i mod 8`` (groups of 5, both directions):
  symmetric and transitive, so held-out pairs follow from the rest of the group.

A quarter of ``jump`` and of ``same_group`` is held out as the test split.
"""

from __future__ import annotations

import numpy as np

from kgcomplete.graph import KGraph

N = 40
GROUPS = 8
RELATIONS = ["next", "skip", "jump", "same_group"]


def planted_graph(seed: int = 0) -> tuple[KGraph, KGraph]:
    """``(train, test)`` sharing one vocabulary; test holds only jump and same_group."""
    rng = np.random.default_rng(seed)
    rows = []
    for step, rel in ((1, 0), (2, 1), (3, 2)):
        rows += [(i, rel, i + step) for i in range(N - step)]
    rows += [(i, 3, j) for i in range(N) for j in range(N) if i != j and i % GROUPS == j % GROUPS]
    triples = np.array(rows, dtype=np.int64)
    held = np.zeros(len(triples), dtype=bool)
    for rel in (2, 3):
        idx = np.flatnonzero(triples[:, 1] == rel)
        held[rng.choice(idx, size=len(idx) // 4, replace=False)] = True
    base = KGraph(entities=[f"e{i}" for i in range(N)], relations=list(RELATIONS), triples=triples[~held],
                  labels=["even", "odd"], entity_labels=np.stack([np.arange(N) % 2 == 0, np.arange(N) % 2 == 1], 1),
                  features=(np.arange(N, dtype=np.float32) / N)[:, None], feature_names=["position"])
    return base, base.with_triples(triples[held])


def held_out_subset(test: KGraph, relations: list[str]) -> KGraph:
    """Only the test triples of the named relations."""
    ids = [RELATIONS.index(r) for r in relations]
    return test.with_triples(test.triples[np.isin(test.triples[:, 1], ids)])
