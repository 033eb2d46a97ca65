"""`kgcomplete`: one entry point, thin over the library.

The connection options (``--config``, ``--uri``, ``--username``, ``--database``) go before
the command (``kgcomplete --uri bolt://db:7687 review list``) or after it
(``kgcomplete review list --uri ...``, which wins); each command builds the settings and
opens one connection (a :class:`~kgcomplete.client.Client`) at most once.
Errors from the library become one line on stderr and exit code 1; no traceback. Tables
are sized to the terminal.
"""

from __future__ import annotations

import json
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Optional

import typer

from kgcomplete.errors import ConfigError, KGCompleteError

if TYPE_CHECKING:
    from kgcomplete.client import Client
    from kgcomplete.config import Settings

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Knowledge-graph completion for Neo4j.")
neo4j_app = typer.Typer(no_args_is_help=True, help="A local Neo4j 5.26 server without Docker.")
app.add_typer(neo4j_app, name="neo4j")
review_app = typer.Typer(no_args_is_help=True, help="Review suggestions (the statements of cypher/review/).")
app.add_typer(review_app, name="review")

DirOpt = Annotated[Optional[Path], typer.Option("--dir", help="instance folder (default: KGC_NEO4J_DIR or "
                                                               "~/.local/share/kgcomplete/neo4j)")]
ReviewerOpt = Annotated[str, typer.Option("--reviewer", envvar="KGC_REVIEWER", help="who reviews (default: $USER)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON on stdout (progress stays on stderr)")]


@dataclass
class Context:
    """What the root options give every command: settings and one client, made on first use."""

    config: Path | None = None
    overrides: dict[str, str | None] = field(default_factory=dict)
    _settings: Settings | None = None
    _client: Client | None = None

    def settings(self) -> Settings:
        from kgcomplete.config import load_settings

        if self._settings is None:
            self._settings = load_settings(self.config, neo4j=self.overrides)
        return self._settings

    def client(self) -> Client:
        from kgcomplete.client import Client

        if self._client is None:
            self._client = Client(settings=self.settings())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", envvar="KGC_CONFIG",
                                                   help="kgcomplete.toml settings file")]
UriOpt = Annotated[Optional[str], typer.Option("--uri", help="Neo4j URI (default: NEO4J_URI or bolt://127.0.0.1:7687)")]
UserOpt = Annotated[Optional[str], typer.Option("--username", help="Neo4j user (default: NEO4J_USERNAME or neo4j)")]
DbOpt = Annotated[Optional[str], typer.Option("--database", help="database (default: NEO4J_DATABASE, else the "
                                                                 "user's home database)")]


@app.callback()
def root(ctx: typer.Context, config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None,
         database: DbOpt = None) -> None:
    """Knowledge-graph completion for Neo4j."""
    state = Context(config, {"uri": uri, "username": username, "database": database})
    ctx.obj = state
    ctx.call_on_close(state.close)


def _conn(ctx: typer.Context, config: Path | None, uri: str | None, username: str | None,
          database: str | None) -> Context:
    """The command's context, with the connection options given after the command applied."""
    state: Context = ctx.find_root().obj
    if config is not None:
        state.config = config
    state.overrides.update({k: v for k, v in (("uri", uri), ("username", username), ("database", database))
                            if v is not None})
    return state


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> None:
    """Rows as a table sized to the terminal (long cells wrap at word boundaries)."""
    from rich.console import Console
    from rich.table import Table

    if not rows:
        typer.echo("(none)")
        return
    table = Table(*columns, title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console(soft_wrap=False).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


# ---------------------------------------------------------------------- neo4j
@neo4j_app.command("start")
def neo4j_start(dir: DirOpt = None, bolt_port: Annotated[int, typer.Option(help="Bolt port on 127.0.0.1")] = 7687,
                http_port: Annotated[int, typer.Option(help="HTTP (Browser) port on 127.0.0.1")] = 7474,
                heap: Annotated[str, typer.Option(help="JVM heap size")] = "1g") -> None:
    """Start the local server (fetching the jars once) and wait until Bolt answers."""
    import os

    from kgcomplete.server.local import LocalNeo4j

    server = LocalNeo4j(dir, bolt_port=bolt_port, http_port=http_port, heap=heap,
                        password=os.environ.get("NEO4J_PASSWORD") or None)
    typer.echo(server.start().describe())
    if os.environ.get("NEO4J_PASSWORD") is None and server.password_on_file():
        typer.echo(f"  user neo4j; password kept in {server.state_file} (read automatically)")


@neo4j_app.command("stop")
def neo4j_stop(dir: DirOpt = None) -> None:
    """Stop the local server."""
    from kgcomplete.server.local import LocalNeo4j

    typer.echo("Neo4j stopped" if LocalNeo4j(dir).stop() else "Neo4j was not running")


@neo4j_app.command("status")
def neo4j_status(dir: DirOpt = None) -> None:
    """Say whether the local server runs, with the Bolt URI and Browser URL its folder records."""
    from kgcomplete.server.local import LocalNeo4j

    status = LocalNeo4j.existing(dir).status()
    typer.echo(status.describe())
    raise typer.Exit(0 if status.running else 3)


# ---------------------------------------------------------------------- load / pull
@app.command("load")
def load(ctx: typer.Context,
         dataset: Annotated[str, typer.Argument(help="a bundled dataset (nations, umls, kinships, codex-s, sample), "
                                                     "a dataset folder (train.tsv ...) or one triples file")],
         splits: Annotated[str, typer.Option(help="splits of a dataset folder to load, comma-separated")] = "train",
         batch_size: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 10_000,
         bulk: Annotated[bool, typer.Option(help="first load into the local server's empty database with Neo4j's "
                                                 "bulk importer (stops and restarts the server)")] = False,
         dir: Annotated[Optional[Path], typer.Option(help="the local instance folder, for --bulk")] = None,
         config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Load triples into Neo4j (idempotent: loading twice changes nothing)."""
    from kgcomplete import datasets
    from kgcomplete.db.connect import translate_errors
    from kgcomplete.db.load import load_triples, read_input

    data = read_input(datasets.path(dataset), _split(splits) or ["train"])  # validate before connecting
    c = _conn(ctx, config, uri, username, database).client()
    with translate_errors(c.settings.neo4j):
        if bulk:
            report = c.load(datasets.path(dataset), splits=_split(splits) or ["train"], batch_size=batch_size,
                            bulk=True, local_dir=dir)
        else:
            report = load_triples(c.driver, data, c.settings.graph, database=c.database, batch_size=batch_size)
    typer.echo(report.describe())


@app.command("pull")
def pull_cmd(ctx: typer.Context,
             out: Annotated[Path, typer.Option("--out", "-o", help="snapshot file to write (.npz)")],
             labels: Annotated[Optional[str], typer.Option(help="only nodes with one of these labels (comma-separated)")] = None,
             types: Annotated[Optional[str], typer.Option(help="only these relationship types (comma-separated)")] = None,
             seeds: Annotated[Optional[str], typer.Option(help="k-hop pull around these keys (comma-separated)")] = None,
             hops: Annotated[int, typer.Option(min=0, help="hops around the seeds")] = 2,
             fan_out: Annotated[Optional[int], typer.Option(min=1, help="at most this many neighbours per node and hop")] = None,
             config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Pull a subgraph into a KGraph snapshot file."""
    client = _conn(ctx, config, uri, username, database).client()
    graph = client.pull(labels=_split(labels), types=_split(types), seeds=_split(seeds), hops=hops, fan_out=fan_out)
    graph.save(out)
    typer.echo(f"pulled {graph.summary()} -> {out}")


# ---------------------------------------------------------------------- evaluate
@app.command("evaluate")
def evaluate_cmd(dataset: Annotated[str, typer.Argument(help="a bundled dataset (umls, codex-s ...), a folder "
                                                             "with train.tsv, valid.tsv, test.tsv, or an inductive "
                                                             "split (train-graph/, test-graph/; --model nbfnet)")],
                 model: Annotated[str, typer.Option(help="'default' or a model name")] = "default",
                 epochs: Annotated[Optional[int], typer.Option(min=0, help="maximum epochs (default: sized to the graph, "
                                                                     "shown before training)")] = None,
                 max_seconds: Annotated[Optional[float], typer.Option(min=1, help="training time budget (default: none "
                                                                          "below 10,000 entities, 3600 above)")] = None,
                 threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: OMP_NUM_THREADS, "
                                                                      "else every core)")] = None,
                 seed: Annotated[int, typer.Option(help="random seed")] = 0, json_out: JsonOpt = False) -> None:
    """Train a link predictor on a dataset and report filtered test metrics.

    On an inductive split it trains on train-graph/ and ranks test-graph/'s test queries
    against all of that graph's entities (new to the model), filtered.

    The chosen settings are printed before training; the result says why training stopped
    (max_epochs, early_stopping, time_budget). Progress goes to stderr, the JSON to stdout."""
    from kgcomplete.evaluation.pipeline import pipeline

    result = pipeline(dataset, model=model, epochs=epochs, max_seconds=max_seconds, threads=threads, seed=seed,
                      progress=True, echo=lambda line: typer.echo(line, err=True))
    typer.echo(json.dumps(result.as_dict()) if json_out else result.describe())


@app.command("evaluate-generator")
def evaluate_generator_cmd(
        dataset: Annotated[str, typer.Argument(help="a bundled dataset or a folder with train.tsv (entity types "
                                                    "optional)")],
        seeds: Annotated[str, typer.Option(help="seeds, comma-separated (split, training, sampling)")] = "0,1,2",
        epochs: Annotated[Optional[int], typer.Option(min=1, help="maximum generator epochs (default: 100)")] = None,
        max_seconds: Annotated[Optional[float], typer.Option(min=1, help="cap on each training, generator and "
                                                                 "link predictor")] = None,
        held_out: Annotated[float, typer.Option(min=0.001, max=0.5, help="share of the entities held out")] = 0.05,
        drop: Annotated[float, typer.Option(min=0.0, max=0.5, help="share of the entities removed before the "
                                            "split, another per seed (a second graph from the first)")] = 0.0,
        share_link: Annotated[bool, typer.Option("--share-link", help="decode with the default link predictor, "
                                                 "as [generator] share_link = true")] = False,
        json_out: JsonOpt = False) -> None:
    """Hold out 5% of the entities (--held-out), train the node generator on the rest and report
    K-shot completion and generation against baselines (mean over seeds)."""
    from kgcomplete.evaluation.generator import evaluate_generator

    try:
        seed_list = [int(s) for s in _split(seeds) or []]
    except ValueError:
        raise ConfigError(f"--seeds {seeds!r}: expected integers separated by commas, e.g. 0,1,2") from None
    if not seed_list:
        raise ConfigError("--seeds is empty: give at least one seed, e.g. 0")
    result = evaluate_generator(dataset, seeds=seed_list, epochs=epochs, max_seconds=max_seconds,
                                link_seconds=max_seconds, fraction=held_out, drop=drop, share_link=share_link,
                                progress=True)
    if json_out:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"{result['dataset']}: {result['held_out']:.0f} held-out entities, seeds {result['seeds']}; "
               f"generator trained {result['train_seconds']:.0f} s a seed")
    typer.echo(f"  K-shot MRR: k=1 {result['kshot_mrr']['1']:.3f}, k=3 {result['kshot_mrr']['3']:.3f}"
               f" (link predictor with the 3 edges: {result['link_predictor_kshot_mrr']['3']:.3f}; k=3 decoder"
               f" alone {result['kshot_decoder_mrr']['3']:.3f}, neighbour votes alone {result['kshot_votes_mrr']['3']:.3f})")
    rows = [{"generator": name, **row} for name, row in (("ours", result), *result["baselines"].items())]
    _table(rows, ["generator", "mean_matched_f1", "mean_matched_f1_novel", "recall_at_f1_0_5", "precision", "label_accuracy",
                  "duplicate_rate", "self_duplicate_rate"])
    typer.echo(f"  held-out entities that are themselves duplicates: {result['held_out_duplicate_rate']:.3f}")


# ---------------------------------------------------------------------- enrich
@app.command("enrich")
def enrich_cmd(ctx: typer.Context, top: Annotated[int, typer.Option(min=0, help="suggestions to print")] = 10,
               job: Annotated[Optional[str], typer.Option("--job", help="run this [[jobs]] entry now, under its "
                                                          "lock (default: the lock 'enrich' of manual runs)")] = None,
               wait: Annotated[bool, typer.Option("--wait", help="if another run holds the lock, wait for it "
                                                  "(default: do not start, and say so)")] = False,
               lock_ttl: Annotated[float, typer.Option(min=5, help="seconds a killed run's lock outlives it "
                                                       "(default: the job's lock_ttl_seconds, else 600)")] = 0,
               config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """One enrichment run: pull, train, suggest, write back; prints the top suggestions.

    Runs under a lock in Neo4j, so two runs never do the same work at once. SIGTERM or Ctrl-C
    stops the run at its next safe point (an epoch, a writeback batch), marked failed; a second
    one stops it at once, still marked failed."""
    from kgcomplete.jobs.scheduler import job_settings
    from kgcomplete.server.local import LocalNeo4j

    state = _conn(ctx, config, uri, username, database)
    c = state.client()
    settings = c.settings
    ttl = lock_ttl or 600.0
    if job is not None:
        entry = settings.job(job)
        settings = c.settings = job_settings(settings, entry)
        ttl = lock_ttl or entry.lock_ttl_seconds
    with _stop_on_signals() as stop:
        result = c.enrich(job=job, echo=typer.echo, wait=wait, lock_ttl=ttl, should_stop=stop.is_set)
    if settings.suggest.enabled:
        typer.echo(f"run {result.run_id}: {result.report.describe()}")
    for s in result.suggestions[:top]:
        typer.echo("\n".join(s.describe()))
    if result.entity_report is not None:
        typer.echo(f"run {result.run_id}: {result.entity_report.describe()}")
        for e in result.entities[:top]:
            typer.echo("\n".join(e.describe()))
    typer.echo(f"review: `kgcomplete review list`, or in Neo4j Browser ({LocalNeo4j.browser_url_for(settings.neo4j.uri)}) "
               "run cypher/review/pending.cypher; `kgcomplete guide` serves a guide for :play")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGTERM / SIGINT (the run stops at its next safe point); a
    second one interrupts at once. The previous handlers come back afterwards."""
    import signal

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        typer.echo(f"{signal.Signals(signum).name}: stopping at the next safe point (again: at once)", err=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# ---------------------------------------------------------------------- schedule / runs
@app.command("schedule")
def schedule_cmd(ctx: typer.Context,
                 job: Annotated[Optional[list[str]], typer.Option("--job", help="only this job (repeatable)")] = None,
                 once: Annotated[bool, typer.Option("--once", help="run the jobs now, once each, and exit")] = False,
                 config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    r"""Run the jobs of the settings (their \[\[jobs]] tables) on cron schedules until SIGINT/SIGTERM.

    Logs are JSON lines on stderr."""
    from kgcomplete.jobs.scheduler import serve, setup_logging

    settings = _conn(ctx, config, uri, username, database).settings()
    setup_logging()
    raise typer.Exit(serve(settings, jobs=job, once=once))


@app.command("runs")
def runs_cmd(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, help="how many")] = 20,
             job: Annotated[Optional[str], typer.Option("--job", help="only this job's runs")] = None,
             json_out: JsonOpt = False,
             config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Enrichment run history (KGCRun nodes), newest first."""
    rows = _conn(ctx, config, uri, username, database).client().runs(limit=limit, job=job)
    for r in rows:
        r["metrics"] = json.loads(r["metrics"]) if isinstance(r.get("metrics"), str) else (r.get("metrics") or {})
    if json_out:
        for r in rows:
            typer.echo(json.dumps(r, default=str))
        return
    for r in rows:
        r["started"] = str(r["started"])[:19] if r["started"] is not None else None
        r["seconds"] = round(r["seconds"]) if isinstance(r.get("seconds"), (int, float)) else r.get("seconds")
        r["metrics"] = ", ".join(f"{k} {v:.3g}" for k, v in r["metrics"].items()
                                 if k in ("valid_mrr", "calibration_ece_top", "train_seconds"))
    _table(rows, ["run", "job", "status", "started", "seconds", "written", "updated", "skipped", "metrics", "error"])


# ---------------------------------------------------------------------- review
def _reviewer(value: str) -> str:
    import getpass

    return value or getpass.getuser()


@review_app.command("list")
def review_list(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, help="how many")] = 25,
                type: Annotated[Optional[str], typer.Option("--type", help="only this relationship type")] = None,
                node: Annotated[Optional[str], typer.Option(help="every suggestion touching this node key")] = None,
                config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Pending suggestions, most probable first (or all suggestions of one node)."""
    review = _conn(ctx, config, uri, username, database).client().review
    if node:
        _table(_named(review.for_node(node)), ["id", "head", "type", "tail", "status", "probability", "evidence"])
    else:
        _table(_named(review.pending(limit=limit, type=type)), ["id", "head", "type", "tail", "probability", "evidence"])


def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Names beside keys: ``India Q668``, ``P530 diplomatic relation`` (where the data has names)."""
    for r in rows:
        for col in ("head", "type", "tail"):
            name = r.get(f"{col}_name")
            if name and name != r[col]:
                r[col] = f"{name} {r[col]}" if col != "type" else f"{r[col]} {name}"
    return rows


@review_app.command("accept")
def review_accept(ctx: typer.Context,
                  ids: Annotated[Optional[list[str]], typer.Argument(help="suggestion ids")] = None,
                  above: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="accept every pending "
                                                                 "suggestion with probability >= this")] = None,
                  type: Annotated[Optional[str], typer.Option("--type", help="with --above: only this type")] = None,
                  reviewer: ReviewerOpt = "",
                  config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Accept suggestions, all or none: each becomes the real relationship."""
    if above is None and not ids:
        raise typer.BadParameter("give suggestion ids or --above P")
    review = _conn(ctx, config, uri, username, database).client().review
    if ids:   # ids and --above together: one transaction, all or none
        rows = review.accept(ids, reviewer=_reviewer(reviewer), above=above, type=type)
    else:
        rows = review.accept_above(above or 0.0, type=type, reviewer=_reviewer(reviewer))
    typer.echo(f"accepted {len(rows)} suggestion(s)")
    _table(rows, ["id", "head", "type", "tail"])


@review_app.command("reject")
def review_reject(ctx: typer.Context, ids: Annotated[list[str], typer.Argument(help="suggestion ids")],
                  reviewer: ReviewerOpt = "",
                  config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Reject suggestions, all or none: kept as rejected, never proposed again, used as hard negatives."""
    rows = _conn(ctx, config, uri, username, database).client().review.reject(ids, reviewer=_reviewer(reviewer))
    typer.echo(f"rejected {len(rows)} suggestion(s)")


@review_app.command("entities")
def review_entities(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, help="how many")] = 25,
                    config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Pending proposed entities (SuggestedEntity), most probable first, with their relationships."""
    rows = _conn(ctx, config, uri, username, database).client().review.entities(limit=limit)
    if not rows:
        typer.echo("(none)")
    for r in rows:
        typer.echo(f"{r['id']}  new {r['label'] or 'entity'}  p={r['probability']}  novelty={r['novelty']}  "
                   f"support={r['support']}" + (f"  anchor={r['anchor']}" if r["anchor"] else ""))
        for line in r["relationships"]:
            typer.echo(f"    {line}")
        for line in r["evidence"] or []:
            typer.echo(f"    because {line}")


@review_app.command("accept-entity")
def review_accept_entity(ctx: typer.Context, id: Annotated[str, typer.Argument(help="proposed entity id")],
                         key: Annotated[Optional[str], typer.Option(help="key of the new entity (default: its id)")] = None,
                         name: Annotated[Optional[str], typer.Option(help="name of the new entity")] = None,
                         reviewer: ReviewerOpt = "",
                         config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Accept a proposed entity: it gets its label and key, its pending relationships become real."""
    c = _conn(ctx, config, uri, username, database).client()
    row = c.review.accept_entity(id, key=key or id, name=name, reviewer=_reviewer(reviewer))
    typer.echo(f"accepted {row['id']} as a {row['label'] or 'node'} with {c.settings.graph.key_property} "
               f"{key or id!r} and {row['relationships']} relationship(s)")


@review_app.command("reject-entity")
def review_reject_entity(ctx: typer.Context, ids: Annotated[list[str], typer.Argument(help="proposed entity ids")],
                         reviewer: ReviewerOpt = "",
                         config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Reject proposed entities (and their pending relationships); never proposed again."""
    review = _conn(ctx, config, uri, username, database).client().review
    for pid in ids:
        review.reject_entity(pid, reviewer=_reviewer(reviewer))
    typer.echo(f"rejected {len(ids)} proposed entit{'y' if len(ids) == 1 else 'ies'}")


@review_app.command("stats")
def review_stats(ctx: typer.Context,
                 config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Suggestions by type and by run."""
    st = _conn(ctx, config, uri, username, database).client().review.stats()
    _table(st["by_type"], ["type", "pending", "accepted", "rejected", "mean_probability",
                           "mean_probability_reviewed", "accepted_share"], title="by type")
    _table(st["by_run"], ["run", "status", "model", "written", "updated", "skipped", "pending", "accepted", "rejected"],
           title="by run")


@app.command("guide")
def guide(ctx: typer.Context, port: Annotated[int, typer.Option(help="port on localhost")] = 8001,
          config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Serve the reviewers' Neo4j Browser guide and style on localhost until Ctrl-C.

    The style captions nodes with the settings' name and key properties and, when the
    database answers, draws every label of its nodes in the style's colours."""
    from kgcomplete.server.browser import serve

    state = _conn(ctx, config, uri, username, database)
    graph = state.settings().graph
    labels: list[str] = []
    try:
        labels = state.client().labels()
    except KGCompleteError as e:
        typer.echo(f"(no labels from the database, so Browser may colour some labels itself: {e})", err=True)
    server = serve(port, key_property=graph.key_property, name_property=graph.name_property, labels=labels)
    typer.echo(f"In Neo4j Browser run:\n  :play http://localhost:{port}/review.html\n"
               f"  :style http://localhost:{port}/style.grass\n(Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()


# ---------------------------------------------------------------------- demo
@app.command("demo")
def demo(dir: DirOpt = None, bolt_port: Annotated[int, typer.Option(help="Bolt port on 127.0.0.1")] = 7687,
         http_port: Annotated[int, typer.Option(help="HTTP (Browser) port on 127.0.0.1")] = 7474) -> None:
    """The whole loop on the bundled sample graph: start a local Neo4j, load, enrich, show the top suggestions."""
    from kgcomplete.server.demo import run_demo

    run_demo(home=dir, bolt_port=bolt_port, http_port=http_port, echo=typer.echo)


def main() -> None:
    """Console-script entry point: library errors become one line and exit code 1."""
    try:
        app()
    except KGCompleteError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
