"""The records that cross module boundaries: what a run proposes, in the plain form the
database layer writes and the CLI prints.

They hold keys and names, never model indices, so :mod:`kgcomplete.db` can write them
without importing any ML code.

Example:
    >>> s = Suggestion("india", "relstudents", "usa", score=3.1, probability=0.4, rank=1)
    >>> s.caption()
    'relstudents? 40%'
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Suggestion:
    """One proposed relationship ``(head)-[:type]->(tail)`` between existing nodes (by key)."""

    head: str
    type: str
    tail: str
    score: float
    probability: float
    rank: int
    evidence: list[str] = field(default_factory=list)
    model: str = ""

    def caption(self) -> str:
        """A short caption for Neo4j Browser, e.g. ``P530? 87%``."""
        return f"{self.type}? {self.probability:.0%}"

    def describe(self, max_evidence: int = 3) -> list[str]:
        """Lines for a terminal: the suggestion, then its evidence."""
        return [f"  {self.probability:.2f}  ({self.head})-[:{self.type}]->({self.tail})",
                *(f"          because {line}" for line in self.evidence[:max_evidence])]


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
