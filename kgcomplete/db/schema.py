"""Names kgcomplete reserves in the database, and the constraint it needs.

kgcomplete's own nodes and relationships are never pulled as data and never loaded from
data files: ``SUGGESTED`` relationships, and nodes labelled ``SuggestedEntity``, ``KGCRun``,
``KGCLock``, ``KGCRelationType`` or ``KGCWriteBatch``.
"""

from __future__ import annotations

import hashlib

import neo4j

from kgcomplete.config import GraphSettings
from kgcomplete.db import CYPHER_DIR
from kgcomplete.db.connect import quote
from kgcomplete.errors import ConfigError

SUGGESTED = "SUGGESTED"
RESERVED_TYPES = (SUGGESTED,)
RESERVED_LABELS = ("SuggestedEntity", "KGCRun", "KGCLock", "KGCRelationType", "KGCWriteBatch")
SCHEMA_FILE = CYPHER_DIR / "schema.cypher"


def key_constraint_name(graph: GraphSettings) -> str:
    digest = hashlib.sha1(f"{graph.base_label}\x00{graph.key_property}".encode()).hexdigest()[:10]
    return f"kgc_key_{digest}"


def ensure_key_constraint(driver: neo4j.Driver, graph: GraphSettings, database: str | None) -> None:
    """Create the uniqueness constraint on ``(:base_label).key_property`` if it is missing."""
    if not graph.base_label:
        raise ConfigError("setting 'graph.base_label' is empty: loading needs a base label "
                          "to put the key uniqueness constraint on")
    if graph.base_label in RESERVED_LABELS:
        raise ConfigError(f"setting 'graph.base_label': {graph.base_label!r} is reserved by kgcomplete")
    text = (f"CREATE CONSTRAINT {quote(key_constraint_name(graph))} IF NOT EXISTS "
            f"FOR (n:{quote(graph.base_label)}) REQUIRE n.{quote(graph.key_property)} IS UNIQUE")
    driver.execute_query(text, database_=database)
    driver.execute_query(
        "CREATE CONSTRAINT kgc_relation_type IF NOT EXISTS FOR (t:KGCRelationType) REQUIRE t.type IS UNIQUE",
        database_=database)


def ensure_schema(driver: neo4j.Driver, database: str | None = None) -> None:
    """Create kgcomplete's own indexes and constraints (``cypher/schema.cypher``), except the
    entity key constraint, which depends on the settings (see ``ensure_key_constraint``)."""
    for text in SCHEMA_FILE.read_text().split(";"):
        lines = [ln for ln in text.strip().splitlines() if not ln.lstrip().startswith("//")]
        statement = "\n".join(lines).strip()
        if statement and "kgc_entity_uid" not in statement:
            driver.execute_query(statement, database_=database)
