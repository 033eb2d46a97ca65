"""Proposals: scored candidate relationships with calibrated probabilities and evidence.

:class:`Suggestion` is the record that crosses from the models to the writeback.
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
