"""The records that cross module boundaries: what a run proposes, in the plain form the
database layer writes and the CLI prints.

They hold keys and names, never model indices, so :mod:`kgcomplete.db` can write them
without importing any ML code.

Example:
    >>> s = Suggestion("india", "relstudents", "usa", score=3.1, probability=0.4, rank=1)
    >>> s.caption()
    'relstudents? 40%'

A reason is text for people plus what it rests on, as data: its kind, its confidence and
the real paths it cites, each a list of node keys and relationship types with directions.
:func:`reason_properties` flattens the reasons of a suggestion into the list properties
written on its ``SUGGESTED`` relationship (Neo4j properties hold no nested lists), which
``cypher/review/evidence.cypher`` follows to draw exactly the cited paths;
:func:`reasons_from_properties` reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CitedPath:
    """A real path in the graph: ``nodes[i] -[types[i]]-> nodes[i+1]`` where ``forward[i]``,
    else ``nodes[i] <-[types[i]]- nodes[i+1]``. ``len(nodes) == len(types) + 1``."""

    nodes: list[str]
    types: list[str]
    forward: list[bool]

    def steps(self) -> list[tuple[str, str, str]]:
        """Each relationship as (start key, type, end key), in the relationship's own direction."""
        return [(a, t, b) if f else (b, t, a)
                for a, b, t, f in zip(self.nodes, self.nodes[1:], self.types, self.forward)]


@dataclass
class Reason:
    """Why a suggestion is plausible: ``text`` for people; ``kind`` (``"rule"``: a mined path
    rule fires; ``"neighbours"``: neighbours of the head have the relationship; other kinds,
    such as model-derived paths, may follow), ``confidence`` in 0..1, and the ``paths`` it cites."""

    text: str
    kind: str
    confidence: float
    paths: list[CitedPath] = field(default_factory=list)


STEP_PROPERTIES = ("evidence_step_reason", "evidence_step_from", "evidence_step_type", "evidence_step_to",
                   "evidence_step_forward", "evidence_step_path")


def reason_properties(reasons: list[Reason]) -> dict[str, list[Any]]:
    """The reasons as flat list properties: per reason ``evidence`` (text), ``evidence_kind``,
    ``evidence_confidence``; per cited relationship (step) the reason it belongs to, its start
    key, type and end key, whether the path walks it forward, and its path's number."""
    out: dict[str, list[Any]] = {"evidence": [r.text for r in reasons], "evidence_kind": [r.kind for r in reasons],
                                 "evidence_confidence": [float(r.confidence) for r in reasons]}
    out.update({k: [] for k in STEP_PROPERTIES})
    path_no = 0
    for i, reason in enumerate(reasons):
        for path in reason.paths:
            for (a, t, b), fwd in zip(path.steps(), path.forward):
                for k, v in zip(STEP_PROPERTIES, (i, a, t, b, fwd, path_no)):
                    out[k].append(v)
            path_no += 1
    return out


def reasons_from_properties(props: dict[str, Any]) -> list[Reason]:
    """The inverse of :func:`reason_properties` (missing properties: reasons without paths)."""
    texts = list(props.get("evidence") or [])
    kinds = list(props.get("evidence_kind") or ["text"] * len(texts))
    confs = list(props.get("evidence_confidence") or [0.0] * len(texts))
    reasons = [Reason(t, k, c) for t, k, c in zip(texts, kinds, confs)]
    steps = zip(*(props.get(k) or [] for k in STEP_PROPERTIES))
    current: dict[int, CitedPath] = {}
    for reason_no, a, t, b, fwd, path_no in steps:
        if path_no not in current:
            current[path_no] = CitedPath([a if fwd else b], [], [])
            reasons[reason_no].paths.append(current[path_no])
        path = current[path_no]
        path.nodes.append(b if fwd else a)
        path.types.append(t)
        path.forward.append(bool(fwd))
    return reasons


@dataclass
class Suggestion:
    """One proposed relationship ``(head)-[:type]->(tail)`` between existing nodes (by key),
    with the nodes' display names (``head_name``, ``tail_name``: the configured name
    property, else empty) and the type's name where the data gave one (``type_name``)."""

    head: str
    type: str
    tail: str
    score: float
    probability: float
    rank: int
    evidence: list[str] = field(default_factory=list)
    model: str = ""
    reasons: list[Reason] = field(default_factory=list)
    head_name: str = ""
    tail_name: str = ""
    type_name: str = ""

    def __post_init__(self) -> None:
        if self.reasons and not self.evidence:
            self.evidence = [r.text for r in self.reasons]

    def caption(self) -> str:
        """A short caption for Neo4j Browser, e.g. ``P530? 87%``."""
        return f"{self.type}? {self.probability:.0%}"

    def describe(self, max_evidence: int = 3) -> list[str]:
        """Lines for a terminal: the suggestion (names beside keys), then its evidence."""
        rel = f"{self.type} {self.type_name}" if self.type_name else self.type
        return [f"  {self.probability:.2f}  ({_named(self.head, self.head_name)})-[:{rel}]->"
                f"({_named(self.tail, self.tail_name)})",
                *(f"          because {line}" for line in self.evidence[:max_evidence])]


def _named(key: str, name: str) -> str:
    return f"{name} {key}" if name and name != key else key


@dataclass
class ProposedRelation:
    """One relationship of a proposed entity."""

    relation: str  # relation/type name as in KGraph.relations
    direction: str  # "out" (new -> neighbour) or "in" (neighbour -> new)
    neighbour: str  # existing entity key (KGraph.entities[i])
    probability: float  # 0..1


@dataclass
class EntityProposal:
    """A proposed new entity.

    ``probability`` is ``label_probability`` times the mean probability of its relations.
    ``novelty`` is ``1 -`` the largest Jaccard similarity between its relationship set and
    an existing entity's. ``support`` counts the generated candidates merged into it.
    """

    label: str | None
    label_probability: float
    relations: list[ProposedRelation]
    probability: float
    novelty: float
    support: int
    anchor: str | None
    evidence: list[str] = field(default_factory=list)
    closest: str | None = None  # key of the existing entity with the most similar relationships

    def describe(self, max_relations: int = 5, max_evidence: int = 2) -> list[str]:
        """A few lines for a terminal: the entity, its best relationships, its evidence."""
        head = (f"new {self.label or 'entity'} (p={self.probability:.2f}, novelty {self.novelty:.2f}, "
                f"support {self.support}" + (f", next to {self.anchor}" if self.anchor else "") + ")")
        rels = [f"    {'-[' + r.relation + ']->' if r.direction == 'out' else '<-[' + r.relation + ']-'} "
                f"{r.neighbour}  {r.probability:.2f}" for r in self.relations[:max_relations]]
        return [head, *rels, *(f"    because {e}" for e in self.evidence[:max_evidence])]
