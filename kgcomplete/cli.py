"""`kgcomplete`: one entry point, thin over the library.

Each command calls one library function. Errors from the library become one line on
stderr and exit code 1; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kgcomplete.errors import KGCompleteError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Knowledge-graph completion for Neo4j.")
neo4j_app = typer.Typer(no_args_is_help=True, help="A local Neo4j 5.26 server without Docker.")
app.add_typer(neo4j_app, name="neo4j")
review_app = typer.Typer(no_args_is_help=True, help="Review suggestions (the statements of cypher/review/).")
app.add_typer(review_app, name="review")

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="kgcomplete.toml settings file",
                                                   envvar="KGC_CONFIG")]
UriOpt = Annotated[Optional[str], typer.Option("--uri", help="Neo4j URI (default: NEO4J_URI or bolt://127.0.0.1:7687)")]
UserOpt = Annotated[Optional[str], typer.Option("--username", help="Neo4j user (default: NEO4J_USERNAME or neo4j)")]
DbOpt = Annotated[Optional[str], typer.Option("--database", help="database name (default: NEO4J_DATABASE or neo4j)")]
DirOpt = Annotated[Optional[Path], typer.Option("--dir", help="instance folder (default: KGC_NEO4J_DIR or ~/.local/share/kgcomplete/neo4j)")]
BoltOpt = Annotated[int, typer.Option("--bolt-port", help="Bolt port on 127.0.0.1")]
HttpOpt = Annotated[int, typer.Option("--http-port", help="HTTP (Browser) port on 127.0.0.1")]


def _settings(config: Path | None, uri: str | None, username: str | None, database: str | None):
    from kgcomplete.config import load_settings

    return load_settings(config, neo4j={"uri": uri, "username": username, "database": database})


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


# ---------------------------------------------------------------------- neo4j
@neo4j_app.command("start")
def neo4j_start(dir: DirOpt = None, bolt_port: BoltOpt = 7687, http_port: HttpOpt = 7474,
                heap: Annotated[str, typer.Option(help="JVM heap size")] = "1g") -> None:
    """Start the local server (fetching the jars once) and wait until Bolt answers."""
    import os

    from kgcomplete.neo4j.local import LocalNeo4j

    server = LocalNeo4j(dir, bolt_port=bolt_port, http_port=http_port, heap=heap,
                        password=os.environ.get("NEO4J_PASSWORD") or None)
    typer.echo(server.start().describe())
    if os.environ.get("NEO4J_PASSWORD") is None and server.password_on_file():
        typer.echo(f"  user neo4j; password kept in {server.home / 'kgcomplete-local.json'} (read automatically)")


@neo4j_app.command("stop")
def neo4j_stop(dir: DirOpt = None) -> None:
    """Stop the local server."""
    from kgcomplete.neo4j.local import LocalNeo4j

    stopped = LocalNeo4j(dir).stop()
    typer.echo("Neo4j stopped" if stopped else "Neo4j was not running")


@neo4j_app.command("status")
def neo4j_status(dir: DirOpt = None, bolt_port: BoltOpt = 7687, http_port: HttpOpt = 7474) -> None:
    """Say whether the local server runs, with its Bolt URI and Browser URL."""
    from kgcomplete.neo4j.local import LocalNeo4j

    status = LocalNeo4j(dir, bolt_port=bolt_port, http_port=http_port).status()
    typer.echo(status.describe())
    raise typer.Exit(0 if status.running else 3)


# ---------------------------------------------------------------------- load / pull
@app.command("load")
def load(path: Annotated[Path, typer.Argument(help="dataset folder (train.tsv ...) or one triples file")],
         splits: Annotated[str, typer.Option(help="splits of a dataset folder to load, comma-separated")] = "train",
         batch_size: Annotated[int, typer.Option(help="rows per transaction")] = 10_000,
         config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Load triples into Neo4j (idempotent: loading twice changes nothing)."""
    from kgcomplete.neo4j.connection import connect, translate_errors
    from kgcomplete.neo4j.loader import load_triples, read_input

    settings = _settings(config, uri, username, database)
    data = read_input(path, _split(splits) or ["train"])  # validate before connecting
    with translate_errors(settings.neo4j), connect(settings.neo4j) as driver:
        report = load_triples(driver, data, settings.graph, database=settings.neo4j.database,
                              batch_size=batch_size)
    typer.echo(report.describe())


@app.command("pull")
def pull_cmd(out: Annotated[Path, typer.Option("--out", "-o", help="snapshot file to write (.npz)")],
             labels: Annotated[Optional[str], typer.Option(help="only nodes with one of these labels (comma-separated)")] = None,
             types: Annotated[Optional[str], typer.Option(help="only these relationship types (comma-separated)")] = None,
             seeds: Annotated[Optional[str], typer.Option(help="k-hop pull around these keys (comma-separated)")] = None,
             hops: Annotated[int, typer.Option(help="hops around the seeds")] = 2,
             fan_out: Annotated[Optional[int], typer.Option(help="at most this many neighbours per node and hop")] = None,
             config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Pull a subgraph into a KGraph snapshot file."""
    from kgcomplete.neo4j.connection import connect, translate_errors
    from kgcomplete.neo4j.connector import pull

    settings = _settings(config, uri, username, database)
    with translate_errors(settings.neo4j), connect(settings.neo4j) as driver:
        graph = pull(driver, settings.graph, database=settings.neo4j.database, labels=_split(labels),
                     types=_split(types), seeds=_split(seeds), hops=hops, fan_out=fan_out)
    graph.save(out)
    typer.echo(f"pulled {graph.summary()} -> {out}")


# ---------------------------------------------------------------------- evaluate
@app.command("evaluate")
def evaluate_cmd(path: Annotated[Path, typer.Argument(help="dataset folder with train.tsv, valid.tsv, test.tsv")],
                 model: Annotated[str, typer.Option(help="'default' or a model name")] = "default",
                 epochs: Annotated[Optional[int], typer.Option(help="maximum epochs (default: sized to the graph)")] = None,
                 seed: Annotated[int, typer.Option(help="random seed")] = 0,
                 json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False) -> None:
    """Train a link predictor on a benchmark folder and report filtered test metrics."""
    import json

    from kgcomplete.pipeline import evaluate_dataset

    result = evaluate_dataset(path, model=model, epochs=epochs, seed=seed, progress=not json_out)
    keys = ["dataset", "model", "mrr", "hits_at_1", "hits_at_3", "hits_at_10", "epochs", "train_seconds", "eval_seconds"]
    if json_out:
        typer.echo(json.dumps({k: result[k] for k in keys}))
    else:
        typer.echo(f"{result['dataset']} / {result['model']}: MRR {result['mrr']:.3f}, Hits@1 {result['hits_at_1']:.3f}, "
                   f"Hits@3 {result['hits_at_3']:.3f}, Hits@10 {result['hits_at_10']:.3f} "
                   f"({result['epochs']} epochs, {result['train_seconds']:.0f} s training)")


@app.command("evaluate-generator")
def evaluate_generator_cmd(
        path: Annotated[Path, typer.Argument(help="dataset folder with train.tsv (valid/test and entity types optional)")],
        seeds: Annotated[str, typer.Option(help="seeds, comma-separated (split, training, sampling)")] = "0,1,2",
        epochs: Annotated[Optional[int], typer.Option(help="maximum generator epochs (default: 100)")] = None,
        max_seconds: Annotated[Optional[float], typer.Option(help="cap on each training, generator and link predictor")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False) -> None:
    """Hold out 5% of the entities, train the node generator on the rest and report K-shot
    completion and generation against baselines (mean over seeds)."""
    import json

    from kgcomplete.errors import ConfigError
    from kgcomplete.generator_eval import evaluate_generator

    try:
        seed_list = [int(s) for s in _split(seeds) or []]
    except ValueError:
        raise ConfigError(f"--seeds {seeds!r}: expected integers separated by commas, e.g. 0,1,2") from None
    if not seed_list:
        raise ConfigError("--seeds is empty: give at least one seed, e.g. 0")
    result = evaluate_generator(path, seeds=seed_list, epochs=epochs, max_seconds=max_seconds,
                                link_seconds=max_seconds, progress=not json_out)
    if json_out:
        typer.echo(json.dumps(result))
        return
    base = result["baselines"]
    typer.echo(f"{result['dataset']}: {result['held_out']:.0f} held-out entities, seeds {result['seeds']}")
    typer.echo(f"  K-shot MRR: k=1 {result['kshot_mrr']['1']:.3f}, k=3 {result['kshot_mrr']['3']:.3f}"
               f" (link predictor with the 3 edges: {result['link_predictor_kshot_mrr']['3']:.3f})")
    for name, row in (("generator", result), *base.items()):
        typer.echo(f"  {name:>13}: matched F1 {row['mean_matched_f1']:.3f}, recall@0.5 {row['recall_at_f1_0_5']:.3f}, "
                   f"precision {row['precision']:.3f}, label acc {row['label_accuracy']:.3f}, "
                   f"duplicates {row['duplicate_rate']:.3f}")
    typer.echo(f"  held-out entities that are themselves duplicates: {result['held_out_duplicate_rate']:.3f}")


# ---------------------------------------------------------------------- enrich
@app.command("enrich")
def enrich_cmd(config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None,
               top: Annotated[int, typer.Option(help="suggestions to print")] = 10) -> None:
    """One enrichment run: pull, train, suggest, write back; prints the top suggestions."""
    from kgcomplete.jobs import enrich
    from kgcomplete.neo4j.connection import connect, translate_errors

    settings = _settings(config, uri, username, database)
    with translate_errors(settings.neo4j), connect(settings.neo4j) as driver:
        result = enrich(driver, settings, echo=typer.echo)
    if settings.suggest.enabled:
        typer.echo(f"run {result.run_id}: {result.report.describe()}")
    for s in result.suggestions[:top]:
        typer.echo("\n".join(s.describe()))
    if result.entity_report is not None:
        typer.echo(f"run {result.run_id}: {result.entity_report.describe()}")
        for e in result.entities[:top]:
            typer.echo("\n".join(e.describe()))
    from kgcomplete.neo4j.local import LocalNeo4j

    typer.echo(f"review: `kgcomplete review list`, or in Neo4j Browser ({LocalNeo4j.browser_url_for(settings.neo4j.uri)}) "
               "run cypher/review/pending.cypher; `kgcomplete guide` serves a guide for :play")


# ---------------------------------------------------------------------- schedule / runs
@app.command("schedule")
def schedule_cmd(config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None,
                 job: Annotated[Optional[list[str]], typer.Option("--job", help="only this job (repeatable)")] = None,
                 once: Annotated[bool, typer.Option("--once", help="run the jobs now, once each, and exit")] = False) -> None:
    """Run the configured [[jobs]] on their cron schedules until SIGINT/SIGTERM (JSON log lines on stderr)."""
    from kgcomplete.scheduler import serve, setup_logging

    settings = _settings(config, uri, username, database)
    setup_logging()
    raise typer.Exit(serve(settings, jobs=job, once=once))


@app.command("runs")
def runs_cmd(limit: Annotated[int, typer.Option(help="how many")] = 20,
             job: Annotated[Optional[str], typer.Option("--job", help="only this job's runs")] = None,
             json_out: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
             config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Enrichment run history (KGCRun nodes), newest first."""
    import json

    from kgcomplete.neo4j import review

    rows = _review(review.runs, config, uri, username, database, limit=limit, job=job)
    if json_out:
        for r in rows:
            typer.echo(json.dumps(r, default=str))
        return
    for r in rows:
        r["started"] = str(r["started"])[:19]
        r["metrics"] = ", ".join(f"{k} {v:.3g}" for k, v in json.loads(r["metrics"] or "{}").items()
                                 if k in ("valid_mrr", "calibration_ece_top", "train_seconds"))
    _table(rows, ["run", "job", "status", "started", "seconds", "written", "updated", "skipped", "metrics", "error"])


# ---------------------------------------------------------------------- review
ReviewerOpt = Annotated[str, typer.Option("--reviewer", envvar="KGC_REVIEWER", help="who reviews (default: $USER)")]


def _reviewer(value: str) -> str:
    import getpass

    return value or getpass.getuser()


def _review(fn, config, uri, username, database, **kwargs):
    from kgcomplete.neo4j.connection import connect, translate_errors

    settings = _settings(config, uri, username, database)
    with translate_errors(settings.neo4j), connect(settings.neo4j) as driver:
        return fn(driver, database=settings.neo4j.database, **kwargs)


def _table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        typer.echo("(none)")
        return
    text = [[("; ".join(map(str, v)) if isinstance(v, list) else str(v)) for v in (r.get(c) for c in columns)]
            for r in rows]
    widths = [min(60, max(len(c), *(len(t[i]) for t in text))) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for t in text:
        typer.echo("  ".join(v[:w].ljust(w) for v, w in zip(t, widths)))


@review_app.command("list")
def review_list(limit: Annotated[int, typer.Option(help="how many")] = 25,
                type: Annotated[Optional[str], typer.Option("--type", help="only this relationship type")] = None,
                node: Annotated[Optional[str], typer.Option(help="every suggestion touching this node key")] = None,
                config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None, database: DbOpt = None) -> None:
    """Pending suggestions, most probable first (or all suggestions of one node)."""
    from kgcomplete.neo4j import review

    if node:
        rows = _review(review.for_node, config, uri, username, database, node=node)
        _table(rows, ["id", "head", "type", "tail", "status", "probability", "evidence"])
    else:
        rows = _review(review.list_pending, config, uri, username, database, limit=limit, type=type)
        _table(rows, ["id", "head", "type", "tail", "probability", "evidence"])


@review_app.command("accept")
def review_accept(ids: Annotated[Optional[list[str]], typer.Argument(help="suggestion ids")] = None,
                  above: Annotated[Optional[float], typer.Option(help="accept every pending suggestion with probability >= this")] = None,
                  type: Annotated[Optional[str], typer.Option("--type", help="with --above: only this type")] = None,
                  reviewer: ReviewerOpt = "", config: ConfigOpt = None, uri: UriOpt = None,
                  username: UserOpt = None, database: DbOpt = None) -> None:
    """Accept suggestions: each becomes the real relationship, in one transaction."""
    from kgcomplete.neo4j import review

    if above is None and not ids:
        raise typer.BadParameter("give suggestion ids or --above P")
    rows = []
    if above is not None:
        rows += _review(review.accept_above, config, uri, username, database, min_probability=above,
                        reviewer=_reviewer(reviewer), type=type)
    for sid in ids or []:
        rows.append(_review(review.accept, config, uri, username, database, id=sid, reviewer=_reviewer(reviewer)))
    typer.echo(f"accepted {len(rows)} suggestion(s)")
    _table(rows, ["id", "head", "type", "tail"])


@review_app.command("reject")
def review_reject(ids: Annotated[list[str], typer.Argument(help="suggestion ids")], reviewer: ReviewerOpt = "",
                  config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None,
                  database: DbOpt = None) -> None:
    """Reject suggestions: kept as rejected, never proposed again, used as hard negatives."""
    from kgcomplete.neo4j import review

    rows = [_review(review.reject, config, uri, username, database, id=sid, reviewer=_reviewer(reviewer))
            for sid in ids]
    typer.echo(f"rejected {len(rows)} suggestion(s)")


@review_app.command("entities")
def review_entities(limit: Annotated[int, typer.Option(help="how many")] = 25,
                    config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None,
                    database: DbOpt = None) -> None:
    """Pending proposed entities (SuggestedEntity), most probable first, with their relationships."""
    from kgcomplete.neo4j import review

    rows = _review(review.entities_pending, config, uri, username, database, limit=limit)
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
def review_accept_entity(id: Annotated[str, typer.Argument(help="proposed entity id")],
                         key: Annotated[Optional[str], typer.Option(help="key of the new entity (default: its id)")] = None,
                         name: Annotated[Optional[str], typer.Option(help="name of the new entity")] = None,
                         reviewer: ReviewerOpt = "", config: ConfigOpt = None, uri: UriOpt = None,
                         username: UserOpt = None, database: DbOpt = None) -> None:
    """Accept a proposed entity: it gets its label and key, its pending relationships become real."""
    from kgcomplete.neo4j import review

    settings = _settings(config, uri, username, database)
    props = {settings.graph.key_property: key or id}
    if name:
        props[settings.graph.name_property] = name
    row = _review(review.accept_entity, config, uri, username, database, id=id, properties=props,
                  reviewer=_reviewer(reviewer), graph=settings.graph)
    typer.echo(f"accepted {row['id']} as a {row['label'] or 'node'} with {settings.graph.key_property} "
               f"{props[settings.graph.key_property]!r} and {row['relationships']} relationship(s)")


@review_app.command("reject-entity")
def review_reject_entity(ids: Annotated[list[str], typer.Argument(help="proposed entity ids")],
                         reviewer: ReviewerOpt = "", config: ConfigOpt = None, uri: UriOpt = None,
                         username: UserOpt = None, database: DbOpt = None) -> None:
    """Reject proposed entities (and their pending relationships); never proposed again."""
    from kgcomplete.neo4j import review

    for pid in ids:
        _review(review.reject_entity, config, uri, username, database, id=pid, reviewer=_reviewer(reviewer))
    typer.echo(f"rejected {len(ids)} proposed entit{'y' if len(ids) == 1 else 'ies'}")


@review_app.command("stats")
def review_stats(config: ConfigOpt = None, uri: UriOpt = None, username: UserOpt = None,
                 database: DbOpt = None) -> None:
    """Suggestions by type and by run."""
    from kgcomplete.neo4j import review

    st = _review(review.stats, config, uri, username, database)
    typer.echo("by type:")
    _table(st["by_type"], ["type", "pending", "accepted", "rejected", "mean_probability",
                           "mean_probability_reviewed", "accepted_share"])
    typer.echo("by run:")
    _table(st["by_run"], ["run", "status", "model", "written", "updated", "skipped", "pending", "accepted", "rejected"])


@app.command("guide")
def guide(port: Annotated[int, typer.Option(help="port on localhost")] = 8001) -> None:
    """Serve the reviewers' Neo4j Browser guide and style on localhost until Ctrl-C."""
    from kgcomplete.neo4j.browser import serve

    server = serve(port)
    typer.echo(f"In Neo4j Browser run:\n  :play http://localhost:{port}/review.html\n"
               f"  :style http://localhost:{port}/style.grass\n(Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()


# ---------------------------------------------------------------------- demo
@app.command("demo")
def demo(dir: DirOpt = None, bolt_port: BoltOpt = 7687, http_port: HttpOpt = 7474) -> None:
    """The main job on the embedded default: start a local Neo4j, load the bundled sample
    graph, pull it back and report."""
    from kgcomplete.demo import run_demo

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
