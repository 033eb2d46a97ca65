"""Pull a subgraph from Neo4j into a :class:`~kgcomplete.graph.KGraph` snapshot.

Three scopes:
- the whole graph (every node with the base label and a key);
- filtered: only nodes with one of ``labels`` and relationships of one of ``types``;
- the k-hop neighbourhood of ``seeds`` (keys), following relationships in both
  directions, at most ``fan_out`` neighbours per node and hop (the first by key, so a pull
  is reproducible); the snapshot is the subgraph induced on the nodes reached.

kgcomplete's own ``SUGGESTED`` relationships and ``SuggestedEntity`` / ``KGCRun`` /
``KGCLock`` / ``KGCRelationType`` nodes are never pulled. Numeric and boolean node
properties become features; the name property is kept for display.

Each pull runs in one read transaction. Relationships are streamed grouped by source node
(one record per node with lists of types and targets), which decodes faster than one
record per relationship.

Example:
    >>> g = pull(driver, settings.graph)                                   # doctest: +SKIP
    >>> g = pull(driver, settings.graph, seeds=["Q42"], hops=2, fan_out=50)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import neo4j
import numpy as np
from tqdm.auto import tqdm

from kgcomplete.config import GraphSettings
from kgcomplete.db.connect import quote
from kgcomplete.db.schema import RESERVED_LABELS, RESERVED_TYPES
from kgcomplete.errors import GraphError
from kgcomplete.graph import KGraph

_NODE_FILTER = ("{v}[$key] IS NOT NULL AND NOT any(l IN labels({v}) WHERE l IN $reserved_labels) "
                "AND (size($labels) = 0 OR any(l IN labels({v}) WHERE l IN $labels))")
_REL_FILTER = "NOT type(r) IN $reserved_types AND (size($types) = 0 OR type(r) IN $types)"
_NODE_RETURN = ("RETURN n[$key] AS key, labels(n) AS labels, n[$name] AS name, "
                "[k IN keys(n) WHERE k <> $key AND (n[k] IS :: INTEGER | FLOAT | BOOLEAN)] AS fk, "
                "[k IN keys(n) WHERE k <> $key AND (n[k] IS :: INTEGER | FLOAT | BOOLEAN) | n[k]] AS fv")


def pull(driver: neo4j.Driver, graph: GraphSettings, *, database: str | None = None,
         labels: Sequence[str] | None = None, types: Sequence[str] | None = None,
         seeds: Sequence[str] | None = None, hops: int = 2, fan_out: int | None = None,
         progress: bool = True) -> KGraph:
    """Pull a snapshot; ``labels``/``types`` default to the settings' filters."""
    params = {
        "key": graph.key_property, "name": graph.name_property,
        "labels": list(labels if labels is not None else graph.labels),
        "types": list(types if types is not None else graph.relationship_types),
        "reserved_labels": list(RESERVED_LABELS), "reserved_types": list(RESERVED_TYPES),
    }
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        if seeds is None:
            nodes, edges = session.execute_read(_pull_all, graph, params, progress)
        else:
            if hops < 0:
                raise GraphError(f"hops must be 0 or more, not {hops}")
            if fan_out is not None and fan_out < 1:
                raise GraphError(f"fan_out must be at least 1, not {fan_out}")
            nodes, edges = session.execute_read(_pull_khop, graph, params, list(seeds), hops, fan_out, progress)
        rel_names = session.execute_read(_relation_names)
    if not nodes:
        scope = f"label {graph.base_label!r}" if graph.base_label else "any label"
        raise GraphError(f"nothing to pull: no node with {scope} and key property {graph.key_property!r}"
                         + (f" matches labels {params['labels']}" if params["labels"] else "")
                         + " (is the database empty? `kgcomplete load` loads triples)")
    return _build(nodes, edges, graph, rel_names)


def _node_match(graph: GraphSettings, var: str) -> str:
    return f"({var}:{quote(graph.base_label)})" if graph.base_label else f"({var})"


def _pull_all(tx: neo4j.ManagedTransaction, graph: GraphSettings, params: dict, progress: bool):
    node_q = f"MATCH {_node_match(graph, 'n')} WHERE {_NODE_FILTER.format(v='n')} {_NODE_RETURN}"
    # the count store's figure (an upper bound: before the filters) gives the bar its ETA
    total = tx.run(f"MATCH {_node_match(graph, 'n')} RETURN count(n) AS n").single(strict=True)["n"] if progress else None
    nodes = [r.values() for r in tqdm(tx.run(node_q, params), desc="pull nodes", unit="node", total=total,
                                       disable=not progress or None, leave=False)]
    edge_q = (f"MATCH {_node_match(graph, 'a')} WHERE {_NODE_FILTER.format(v='a')} "
              f"CALL (a) {{ MATCH (a)-[r]->{_node_match(graph, 'b')} "
              f"WHERE {_REL_FILTER} AND {_NODE_FILTER.format(v='b')} "
              "RETURN collect(type(r)) AS types, collect(b[$key]) AS tails } "
              "WITH a, types, tails WHERE size(tails) > 0 RETURN a[$key] AS head, types, tails")
    edges = [r.values() for r in tqdm(tx.run(edge_q, params), desc="pull relationships", unit="node",
                                       total=len(nodes), disable=not progress or None, leave=False)]
    return nodes, edges


def _pull_khop(tx: neo4j.ManagedTransaction, graph: GraphSettings, params: dict, seeds: list[str],
               hops: int, fan_out: int | None, progress: bool):
    if not graph.base_label:
        raise GraphError("k-hop pulls look seeds up by key and need 'graph.base_label' (the label with the key constraint)")
    label, key = quote(graph.base_label), quote(graph.key_property)
    found = {r["k"] for r in tx.run(f"UNWIND $seeds AS k MATCH (n:{label} {{{key}: k}}) "
                                    f"WHERE {_NODE_FILTER.format(v='n')} RETURN k", params, seeds=seeds)}
    missing = [s for s in seeds if s not in found]
    if missing:
        raise GraphError(f"seed key(s) not found in the graph (or filtered out): {', '.join(map(repr, missing[:5]))}")
    hop_q = (f"UNWIND $frontier AS k MATCH (n:{label} {{{key}: k}}) "
             f"CALL (n) {{ MATCH (n)-[r]-(m:{label}) WHERE {_REL_FILTER} AND {_NODE_FILTER.format(v='m')} "
             "WITH DISTINCT m[$key] AS mk ORDER BY mk LIMIT $cap RETURN collect(mk) AS nbrs } "
             "RETURN nbrs")
    reached = dict.fromkeys(seeds)
    frontier = list(reached)
    for _ in tqdm(range(hops), desc="k-hop", disable=not progress or None, leave=False):
        if not frontier:
            break
        nxt: list[str] = []
        for rec in tx.run(hop_q, params, frontier=frontier, cap=fan_out if fan_out else 2**62):
            for m in rec["nbrs"]:
                if m not in reached:
                    reached[m] = None
                    nxt.append(m)
        frontier = nxt
    keys = list(reached)
    nodes = [r.values() for r in tx.run(f"UNWIND $keys AS k MATCH (n:{label} {{{key}: k}}) {_NODE_RETURN}",
                                         params, keys=keys)]
    keyset = set(keys)
    edges = []
    edge_q = (f"UNWIND $keys AS k MATCH (a:{label} {{{key}: k}}) "
              f"CALL (a) {{ MATCH (a)-[r]->(b:{label}) WHERE {_REL_FILTER} "
              "RETURN collect(type(r)) AS types, collect(b[$key]) AS tails } "
              "WITH a, types, tails WHERE size(tails) > 0 RETURN a[$key] AS head, types, tails")
    for head, rtypes, tails in (r.values() for r in tx.run(edge_q, params, keys=keys)):
        kept = [(t, b) for t, b in zip(rtypes, tails) if b in keyset]
        if kept:
            edges.append([head, [t for t, _ in kept], [b for _, b in kept]])
    return nodes, edges


def _relation_names(tx: neo4j.ManagedTransaction) -> dict[str, str]:
    return {r["type"]: r["name"] for r in tx.run(
        "MATCH (t:KGCRelationType) WHERE t.name IS NOT NULL RETURN t.type AS type, t.name AS name")}


def _build(nodes: list, edges: list, graph: GraphSettings, rel_names: dict[str, str]) -> KGraph:
    keys = [str(n[0]) for n in nodes]
    index = {k: i for i, k in enumerate(keys)}
    if len(index) != len(keys):
        raise GraphError(f"key property '{graph.key_property}' is not unique among the pulled nodes "
                         "(add a uniqueness constraint on it)")
    labels = sorted({lab for n in nodes for lab in n[1]} - {graph.base_label} - set(RESERVED_LABELS))
    l_index = {lab: j for j, lab in enumerate(labels)}
    entity_labels = np.zeros((len(keys), len(labels)), dtype=bool)
    for i, n in enumerate(nodes):
        for lab in n[1]:
            if lab in l_index:
                entity_labels[i, l_index[lab]] = True
    feature_names = sorted({k for n in nodes for k in n[3]})
    if graph.features is not None:
        feature_names = [f for f in feature_names if f in set(graph.features)]
    f_index = {f: j for j, f in enumerate(feature_names)}
    features = np.zeros((len(keys), len(feature_names)), dtype=np.float32)
    for i, n in enumerate(nodes):
        for k, v in zip(n[3], n[4]):
            if k in f_index:
                features[i, f_index[k]] = float(v)
    names = [str(n[2]) if n[2] is not None else keys[i] for i, n in enumerate(nodes)]

    relations: dict[str, int] = {}
    heads: list[int] = []
    rels: list[int] = []
    tails: list[int] = []
    for head, rtypes, tkeys in edges:
        h = index.get(str(head))
        if h is None:
            continue
        for t, b in zip(rtypes, tkeys):
            o = index.get(str(b))
            if o is None:
                continue
            heads.append(h)
            rels.append(relations.setdefault(t, len(relations)))
            tails.append(o)
    triples = np.stack([np.asarray(heads, dtype=np.int64), np.asarray(rels, dtype=np.int64),
                        np.asarray(tails, dtype=np.int64)], axis=1) if heads else np.zeros((0, 3), np.int64)
    # relationship types in name order, not in the order the scan met them: the same types
    # get the same indices in every pull, so a saved model's rows still match its relations
    relation_list = sorted(relations)
    if len(triples):
        new_index = np.empty(len(relations), dtype=np.int64)
        new_index[[relations[t] for t in relation_list]] = np.arange(len(relation_list))
        triples[:, 1] = new_index[triples[:, 1]]
    return KGraph(entities=keys, relations=relation_list, triples=triples, labels=labels,
                  entity_labels=entity_labels, features=features, feature_names=feature_names,
                  names=names, relation_labels={t: rel_names[t] for t in relation_list if t in rel_names},
                  key_property=graph.key_property)
