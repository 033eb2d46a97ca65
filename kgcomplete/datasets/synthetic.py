"""Synthetic typed knowledge graphs of any size, with the shape of real ones, for scale tests.

:func:`synthetic_graph` draws a graph of about ``relationships`` edges and a tenth as many
entities:

- every entity has one of ``num_labels`` labels (label sizes skewed) and a hidden
  *community*; its popularity is Pareto-distributed, so degrees follow a power law;
- *base* relationship types have a domain and a range (one or two labels each) and a map
  between communities: a head in community ``c`` links to a popular tail of the range in
  community ``map_r(c)`` (10% of tails are drawn from the whole range instead);
- *inverse* types mirror most edges of a base type, *composition* types follow two base
  steps (``r_c(x, z) <= r_a(x, y), r_b(y, z)``, for part of the paths), and two *hierarchy*
  types send members to a hub of their community and hubs to a hub of a coarser one.

A model that learns the community maps ranks held-out tails far above their degree rank.
Everything is drawn from ``seed``: the same arguments give the same graph.

Example:
    >>> kg = synthetic_graph(10_000, seed=0)
    >>> kg.triples.shape[1], len(kg.relations) >= 20, len(kg.labels)
    (3, True, 20)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SyntheticGraph:
    """Index triples and their vocabulary.

    Attributes:
        triples: ``shape: (n, 3), dtype: int64`` rows ``(head, type, tail)``, distinct, no self-loops.
        entity_label: ``shape: (N,)`` each entity's label index.
        labels: label names; ``relations``: type names; ``kinds``: each type's kind
            (``base``, ``inverse``, ``composition``, ``hierarchy``).
    """

    triples: np.ndarray
    entity_label: np.ndarray
    labels: list[str]
    relations: list[str]
    kinds: list[str]

    @property
    def num_entities(self) -> int:
        return len(self.entity_label)

    def keys(self) -> list[str]:
        """Entity keys, ``e0`` ... ``e{N-1}``."""
        return [f"e{i}" for i in range(self.num_entities)]

    def split_test(self, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(rest, test)``: ``count`` random edges held out, each between entities that keep
        other edges and of a type that keeps others, so every test entity is in the rest."""
        rng = np.random.default_rng(seed)
        t = self.triples
        degree = np.bincount(t[:, [0, 2]].ravel(), minlength=self.num_entities)
        per_type = np.bincount(t[:, 1], minlength=len(self.relations))
        pick = rng.permutation(len(t))
        ok = pick[(degree[t[pick, 0]] >= 3) & (degree[t[pick, 2]] >= 3) & (per_type[t[pick, 1]] >= 10)][:count]
        mask = np.ones(len(t), dtype=bool)
        mask[ok] = False
        rest = t[mask]
        kept = np.bincount(rest[:, [0, 2]].ravel(), minlength=self.num_entities)
        test = t[ok]
        test = test[(kept[test[:, 0]] > 0) & (kept[test[:, 2]] > 0)]
        return rest, test


def synthetic_graph(relationships: int, *, seed: int = 0, num_labels: int = 20, num_types: int = 40,
                    communities: int | None = None) -> SyntheticGraph:
    """A typed graph of ``relationships`` edges (up to 2% fewer) over ``relationships // 10`` entities; see the module docstring.

    Args:
        relationships: edges wanted.
        seed: the random seed.
        num_labels: labels (10 to 50 is the shape of real graphs). (default: :obj:`20`)
        num_types: relationship types, at least 12: 60% base, 20% inverse, 15% composition,
            two hierarchy types. (default: :obj:`40`)
        communities: hidden communities (default: ``N ** 0.4``, between 16 and 256).
    """
    if relationships < 1000 or num_types < 12 or num_labels < 2:
        raise ValueError("synthetic_graph needs at least 1,000 relationships, 12 types and 2 labels")
    n = relationships // 10
    base = int(relationships * 0.75)
    for _ in range(4):   # repeated draws collapse: draw more base edges until the total is reached
        triples, label, kinds = _draw_graph(np.random.default_rng(seed), n, base, num_labels, num_types, communities)
        if len(triples) >= relationships * 0.98:
            break
        base = int(base * 1.05 * relationships / len(triples))
    if len(triples) > relationships:
        triples = triples[np.sort(np.random.default_rng(seed).choice(len(triples), relationships, replace=False))]
    names = [f"{kind[:4].upper()}_{i:02d}" for i, kind in enumerate(kinds)]
    return SyntheticGraph(triples=triples, entity_label=label, labels=[f"Type{j:02d}" for j in range(num_labels)],
                          relations=names, kinds=kinds)


def _draw_graph(rng: np.random.Generator, n: int, base: int, num_labels: int, num_types: int,
                communities: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One draw of :func:`synthetic_graph` with ``base`` edges of the base types (before
    removing repeats): ``(triples, entity labels, type kinds)``."""
    k = communities or int(np.clip(round(n ** 0.4), 16, 256))
    label_share = 1.0 / np.arange(1, num_labels + 1) ** 0.7
    label = rng.choice(num_labels, n, p=label_share / label_share.sum())
    community = rng.integers(0, k, n)
    weight = np.minimum(rng.pareto(1.3, n) + 1.0, n / 50)  # popularity: power-law degrees, capped hubs
    n_inv, n_comp = num_types // 5, int(num_types * 0.15)
    n_base = num_types - n_inv - n_comp - 2
    domain = [rng.choice(num_labels, rng.integers(1, 3), replace=False) for _ in range(n_base)]
    range_ = [rng.choice(num_labels, rng.integers(1, 3), replace=False) for _ in range(n_base)]
    comp_pairs = [tuple(rng.choice(n_base, 2, replace=False)) for _ in range(n_comp)]
    for a, b in comp_pairs:
        domain[b] = range_[a]   # so that a-then-b paths exist
    maps = [rng.permutation(k) for _ in range(n_base)]
    share = 1.0 / np.arange(1, n_base + 1) ** 0.8
    counts = np.maximum(rng.multinomial(base, share / share.sum()), 10)

    rows, kinds = [], []
    for r in range(n_base):
        heads = _draw(rng, np.flatnonzero(np.isin(label, domain[r])), weight, counts[r])
        target = maps[r][community[heads]]
        noise = rng.random(len(heads)) < 0.1
        target[noise] = rng.integers(0, k, int(noise.sum()))
        tails = _draw_in_community(rng, np.flatnonzero(np.isin(label, range_[r])), community, weight, target)
        rows.append(np.stack([heads, np.full_like(heads, r), tails], 1))
        kinds.append("base")
    drawn = [_distinct(x) for x in rows]
    by_size = np.argsort([-len(x) for x in drawn])
    for j, r in enumerate(by_size[:n_inv]):   # inverses of the largest base types
        keep = drawn[r][rng.random(len(drawn[r])) < 0.7]
        rows.append(np.stack([keep[:, 2], np.full(len(keep), n_base + j), keep[:, 0]], 1))
        kinds.append("inverse")
    for j, (a, b) in enumerate(comp_pairs):
        rows.append(_compose(rng, drawn[a], drawn[b], n_base + n_inv + j))
        kinds.append("composition")
    hub = _hubs(label, community, weight, k, num_labels)
    parent_label = int(np.argmax(np.bincount(label, minlength=num_labels)))
    child = np.flatnonzero((label != parent_label) & (rng.random(n) < 0.3))
    parent = hub[parent_label][community[child]]
    rows.append(np.stack([child, np.full_like(child, num_types - 2), parent], 1))
    tops = np.unique(hub[parent_label][hub[parent_label] >= 0])
    rows.append(np.stack([tops, np.full_like(tops, num_types - 1), hub[parent_label][community[tops] // 8]], 1))
    kinds += ["hierarchy", "hierarchy"]

    return _distinct(np.concatenate(rows)), label, kinds


def _draw(rng: np.random.Generator, members: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """``size`` members drawn with probability proportional to ``weight``."""
    p = weight[members]
    return members[np.minimum(np.searchsorted(np.cumsum(p), rng.random(size) * p.sum()), len(members) - 1)]


def _draw_in_community(rng: np.random.Generator, members: np.ndarray, community: np.ndarray, weight: np.ndarray,
                       target: np.ndarray) -> np.ndarray:
    """For each entry of ``target`` (a community), a member of that community drawn by
    ``weight``; a member of any community where the target has none."""
    members = members[np.argsort(community[members], kind="stable")]
    cum = np.concatenate([[0.0], np.cumsum(weight[members])])
    start = np.searchsorted(community[members], target, "left")
    end = np.searchsorted(community[members], target, "right")
    empty = start == end
    start[empty], end[empty] = 0, len(members)
    u = cum[start] + rng.random(len(target)) * (cum[end] - cum[start])
    return members[np.clip(np.searchsorted(cum, u, "right") - 1, start, end - 1)]


def _compose(rng: np.random.Generator, first: np.ndarray, second: np.ndarray, relation: int) -> np.ndarray:
    """Edges ``(x, relation, z)`` for 40% of the paths ``x -first-> y -second-> z`` (one
    continuation drawn per first edge)."""
    order = np.argsort(second[:, 0], kind="stable")
    heads = second[order, 0]
    lo, hi = np.searchsorted(heads, first[:, 2], "left"), np.searchsorted(heads, first[:, 2], "right")
    has = (hi > lo) & (rng.random(len(first)) < 0.4)
    pick = lo[has] + (rng.random(int(has.sum())) * (hi[has] - lo[has])).astype(np.int64)
    return np.stack([first[has, 0], np.full(int(has.sum()), relation), second[order[pick], 2]], 1)


def _hubs(label: np.ndarray, community: np.ndarray, weight: np.ndarray, k: int, num_labels: int) -> np.ndarray:
    """``shape: (num_labels, k)``: the most popular entity of each label and community (-1: none)."""
    hub = np.full((num_labels, k), -1, dtype=np.int64)
    order = np.argsort(weight, kind="stable")   # later (heavier) entities overwrite lighter ones
    hub[label[order], community[order]] = order
    return hub


def _distinct(rows: np.ndarray) -> np.ndarray:
    """Distinct rows without self-loops, in first-seen order."""
    rows = rows[(rows[:, 0] != rows[:, 2]) & (rows[:, 2] >= 0)]
    width, types = int(rows[:, [0, 2]].max()) + 1, int(rows[:, 1].max()) + 1
    _, first = np.unique((rows[:, 0] * types + rows[:, 1]) * width + rows[:, 2], return_index=True)
    return rows[np.sort(first)]
