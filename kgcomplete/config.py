"""Typed settings: a TOML file, then environment variables, then explicit overrides.

Connection settings use Neo4j's own variable names (``NEO4J_URI``, ``NEO4J_USERNAME``,
``NEO4J_PASSWORD``, ``NEO4J_DATABASE``). Precedence, lowest first: defaults, the config
file, the environment, CLI flags / keyword overrides. (The environment beats the file so
one config file serves every deployment; see docs/architecture.md.)

When no password is given anywhere and the URI is exactly the local server's Bolt address,
:func:`kgcomplete.db.connect.connect` reads the password that ``kgcomplete neo4j start``
generated from the local instance folder.

Example:
    >>> s = load_settings(None, env={}, neo4j={"uri": "bolt://127.0.0.1:17687"})
    >>> s.neo4j.uri, s.graph.key_property
    ('bolt://127.0.0.1:17687', 'uid')
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kgcomplete.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_NAMES = {"uri": "NEO4J_URI", "username": "NEO4J_USERNAME", "password": "NEO4J_PASSWORD",
             "database": "NEO4J_DATABASE"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Neo4jSettings(_Strict):
    """Where the graph lives. ``password`` is a secret: it never prints."""

    uri: str = "bolt://127.0.0.1:7687"
    username: str = "neo4j"
    password: SecretStr | None = None
    database: str | None = Field(None, description="database name (None = the user's home database on the server)")

    @field_validator("uri")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if v.split("://")[0] not in {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}:
            raise ValueError(f"{v!r} is not a Neo4j URI (bolt://host:port or neo4j://host:port)")
        parts = urlsplit(v)
        if "@" in parts.netloc:  # never echo it: it may hold a password
            raise ValueError("the URI holds a user or password before '@': give them with NEO4J_USERNAME and "
                             "NEO4J_PASSWORD instead")
        try:
            parts.port  # noqa: B018 (parses the port)
        except ValueError:
            raise ValueError(f"{v!r} has a malformed port: expected bolt://host:port") from None
        if not parts.hostname:
            raise ValueError(f"{v!r} names no host: expected bolt://host:port")
        if parts.path not in ("", "/"):
            raise ValueError(f"{v!r} has a path ({parts.path!r}), which a Neo4j URI cannot have: give the database "
                             "with NEO4J_DATABASE or --database instead")
        return v


class GraphSettings(_Strict):
    """Which part of the database is the knowledge graph, and how nodes are addressed."""

    base_label: str = Field("Entity", description="label every entity carries; the key constraint is on it ('' = any node)")
    key_property: str = Field("uid", description="node property that holds each entity's stable key")
    name_property: str = Field("name", description="node property shown as the entity's name")
    labels: list[str] = Field(default_factory=list, description="pull only nodes with one of these labels")
    relationship_types: list[str] = Field(default_factory=list, description="pull only these relationship types")
    features: list[str] | None = Field(None, description="numeric properties to use as features (None = all)")

    @field_validator("key_property", "name_property")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        return v


class ModelSettings(_Strict):
    """Which link predictor an enrichment run trains, and its budget."""

    name: str = Field("default", description="'default' (ComplEx sized to the graph) or a name from kgcomplete.models.MODELS")
    epochs: int | None = Field(None, ge=0, description="maximum training epochs (default: sized to the graph)")
    max_seconds: float | None = Field(None, gt=0, description="stop training after this many seconds")
    valid_fraction: float = Field(0.05, gt=0, lt=0.5, description="edges held out for early stopping and calibration")
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch threads (None: OMP_NUM_THREADS, else every core)")
    options: dict[str, Any] = Field(default_factory=dict, description="model and fit options, e.g. dim, lr")
    checkpoint_dir: str | None = Field(None, description="folder for each job's model checkpoint (None = no checkpoints)")
    warm_start: bool = Field(True, description="fine-tune the previous checkpoint when there is one")
    reuse: bool = Field(False, description="score today's graph with the job's checkpoint, without training (models "
                                           "that score new entities: nbfnet); trains when it cannot")


class TypeConstraint(_Strict):
    """Labels a relationship type's heads and tails must carry (one of them; [] = any label)."""

    heads: list[str] = Field(default_factory=list)
    tails: list[str] = Field(default_factory=list)


class SuggestSettings(_Strict):
    """What an enrichment run proposes."""

    enabled: bool = Field(True, description="propose relationships (SUGGESTED between existing nodes)")
    relationship_types: list[str] = Field(default_factory=list, description="types to propose ([] = all)")
    top_k: int = Field(5, ge=1, description="candidates per entity, type and direction")
    min_probability: float = Field(0.1, ge=0, le=1, description="drop suggestions below this calibrated probability")
    max_total: int = Field(1000, ge=1, description="at most this many suggestions per run")
    write_batch_size: int = Field(2000, ge=1, description="suggestions per writeback transaction")
    learn_from_reviews: bool = Field(True, description="shift probabilities by what analysts accepted and "
                                     "rejected per type, (type, tail) and (head, type)")
    type_constraints: dict[str, TypeConstraint] = Field(
        default_factory=dict, description="per relationship type, the head and tail labels to allow instead "
        "of the ones seen in the graph")
    query_budget: int | None = Field(None, ge=1, description="anchor queries per run over all types and directions "
                                     "(default: every type-consistent entity, both directions)")
    anchor_policy: Literal["least_connected", "random"] = Field(
        "least_connected", description="which anchors a query budget asks first")
    search: Literal["auto", "exact", "approximate"] = Field(
        "auto", description="how each query finds its best targets: 'exact' scores every one, 'approximate' asks a "
        "vector index (DistMult, ComplEx, RotatE, TransE, R-GCN), 'auto' asks one from 100,000 targets up")
    rerank: int = Field(8, ge=1, description="an approximate query rescores rerank x (top_k + 21) of the index's "
                        "best exactly (more is slower and closer to exact)")


class GeneratorSettings(_Strict):
    """What the node generator proposes in an enrichment run (new entities)."""

    enabled: bool = Field(False, description="propose new entities as SuggestedEntity nodes")
    count: int = Field(10, ge=1, description="at most this many proposed entities per run")
    anchors: list[str] = Field(default_factory=list, description="propose missing neighbours of these keys "
                               "([] = free generation from the spread of existing entities)")
    label: str | None = Field(None, description="only propose entities with this label")
    min_probability: float = Field(0.5, ge=0, le=1, description="drop proposed relationships below this probability")
    min_novelty: float = Field(0.5, ge=0, le=1, description="drop proposals this close to an existing entity")
    max_relations: int = Field(10, ge=1, description="at most this many relationships per proposed entity")
    epochs: int | None = Field(None, ge=1, description="generator training epochs (default: sized to the graph)")
    max_seconds: float | None = Field(None, gt=0, description="stop generator training after this many seconds")
    share_link: bool = Field(False, description="decode with the trained ComplEx link predictor's embeddings "
                             "(frozen) instead of the generator's own 64-dimension decoder: better K-shot "
                             "completion, worse and slower free generation")


class JobSettings(_Strict):
    """One scheduled enrichment job (a ``[[jobs]]`` table)."""

    name: str = Field(description="unique job name; also the name of its lock")
    cron: str = Field(description="five-field crontab expression, e.g. '0 2 * * *' for 02:00 daily")
    timezone: str = Field("UTC", description="time zone of the cron expression")
    links: bool = Field(True, description="propose relationships")
    entities: bool = Field(False, description="propose new entities (uses [generator])")
    misfire_grace_seconds: int = Field(3600, ge=1, description="still run a missed start up to this late")
    coalesce: bool = Field(True, description="run once, not once per missed start, after downtime")
    lock_ttl_seconds: float = Field(600.0, ge=5, description="a crashed worker's lock expires after this; "
                                    "a live worker renews it every third of it")

    @field_validator("name")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as e:
            raise ValueError(f"{v!r} is not a five-field crontab expression ({e})") from None
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a time zone name (e.g. 'UTC', 'Europe/Berlin')") from None
        return v


class Settings(_Strict):
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    suggest: SuggestSettings = Field(default_factory=SuggestSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    jobs: list[JobSettings] = Field(default_factory=list)

    @field_validator("jobs")
    @classmethod
    def _unique_jobs(cls, v: list[JobSettings]) -> list[JobSettings]:
        names = [j.name for j in v]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"job names must be unique; repeated: {', '.join(dup)}")
        return v

    def job(self, name: str) -> JobSettings:
        """The job called ``name``; ConfigError if there is none."""
        for j in self.jobs:
            if j.name == name:
                return j
        known = ", ".join(j.name for j in self.jobs) or "none configured"
        raise ConfigError(f"no job named {name!r} in the settings (jobs: {known})")


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                  **overrides: Mapping[str, Any]) -> Settings:
    """Read settings from ``path`` (TOML), the environment and ``overrides``.

    ``overrides`` are per-section dicts, e.g. ``neo4j={"uri": ...}``; ``None`` values are
    ignored so CLI flags that were not given do not override anything.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(Path(path))
    conn = data.setdefault("neo4j", {})
    for key, var in ENV_NAMES.items():
        if env.get(var):
            conn[key] = env[var]
    for section, values in overrides.items():
        data.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        source = f" in {path}" if path is not None else ""
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"setting '{where}'{source}: {msg}") from None
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    for key, value in data.items():
        if key == "jobs":
            if not isinstance(value, list):
                raise ConfigError(f"setting 'jobs' in {path}: expected [[jobs]] tables")
        elif not isinstance(value, dict):
            raise ConfigError(f"setting '{key}' in {path}: expected a [{key}] table")
    return data
