"""An enrichment run: pull -> fit -> calibrate -> propose -> write back, recorded as a KGCRun.

Links (SUGGESTED between existing nodes) and/or new entities (SuggestedEntity nodes from the
node generator), as ``settings.suggest.enabled`` and ``settings.generator.enabled`` say.

The analysts' decisions close the loop: accepted suggestions are real relationships by the
next pull (so they train as positives), rejected ones are passed to training as hard
negatives and are never proposed again; pending ones are not proposed twice.

Example:
    >>> with connect(settings.neo4j) as driver:                 # doctest: +SKIP
    ...     result = enrich(driver, settings)
    >>> result.report.written                                   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import neo4j
import numpy as np

from kgcomplete.config import GeneratorSettings, ModelSettings, Settings
from kgcomplete.db.feedback import Decisions, decisions
from kgcomplete.db.locks import JobLock
from kgcomplete.db.pull import pull
from kgcomplete.db.runs import fail_run, finish_run, start_run
from kgcomplete.db.write import WriteReport, write_suggestions
from kgcomplete.db.write_entities import EntityWriteReport, write_entities
from kgcomplete.errors import ConfigError, InputFileError, LockHeld, LockLost, Stopped, WarmStartMismatch
from kgcomplete.graph import KGraph
from kgcomplete.models import ComplEx
from kgcomplete.models.base import LinkPredictor
from kgcomplete.proposals.entities import propose_entities
from kgcomplete.proposals.suggest import Calibrator, SuggestPolicy, suggest
from kgcomplete.records import EntityProposal, Suggestion
from kgcomplete.training.checkpoints import load_model, save_model
from kgcomplete.training.defaults import default_settings, describe_training
from kgcomplete.training.fit import FitResult, fit
from kgcomplete.training.generator import GeneratorFit, fit_generator
from kgcomplete.training.generator_store import fit_generator_warm, save_generator
from kgcomplete.training.warm_start import fit_warm

MANUAL_LOCK = "enrich"   # the lock of runs that name no job


@dataclass
class EnrichResult:
    """What one enrichment run did (links and/or entities, as configured)."""

    run_id: str
    graph: KGraph
    fit: FitResult | None = None
    calibrator: Calibrator | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    report: WriteReport = field(default_factory=WriteReport)
    generator: GeneratorFit | None = None
    entities: list[EntityProposal] = field(default_factory=list)
    entity_report: EntityWriteReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    def metrics(self) -> dict[str, float]:
        out = {"suggestions": float(len(self.suggestions))}
        if self.fit is not None:
            out.update(train_seconds=self.fit.seconds, epochs=float(self.fit.epochs), trained=float(not self.reused),
                       sampled_training=float(self.fit.loss != "1-n"))
            if self.fit.best_valid_mrr is not None:
                out["valid_mrr"] = self.fit.best_valid_mrr
        if self.calibrator is not None and self.calibrator.ece is not None:
            out["calibration_ece"] = self.calibrator.ece
        if self.calibrator is not None and self.calibrator.ece_top is not None:
            out["calibration_ece_top"] = self.calibrator.ece_top
        if self.generator is not None:
            out.update(generator_seconds=self.generator.seconds, entities=float(len(self.entities)),
                       generator_epochs=float(self.generator.epochs),
                       generator_warm_start=float(self.generator.warm_start))
        return out


def checkpoint_path(model: ModelSettings, job: str | None) -> Path | None:
    """Where a job keeps its model between runs (``None`` without ``model.checkpoint_dir``)."""
    if not model.checkpoint_dir:
        return None
    return Path(model.checkpoint_dir).expanduser() / f"{job or 'enrich'}.pt"


def train_model(graph: KGraph, train: KGraph, valid: KGraph, m: ModelSettings, *, job: str | None = None,
                negatives: np.ndarray | None = None, progress: bool = True,
                echo: Callable[[str], None] = lambda _: None,
                should_stop: Callable[[], bool] | None = None) -> FitResult:
    """Train the configured link predictor: fine-tune the job's previous checkpoint when there
    is one (and ``m.warm_start``), else from scratch; then save the new checkpoint (not when
    ``should_stop`` cut training short)."""
    options = default_settings(train, m.name)
    name = options.pop("model")
    options.update({k: v for k, v in (("epochs", m.epochs), ("max_seconds", m.max_seconds)) if v is not None})
    options.update(m.options)
    echo(describe_training(name, options, train.num_entities))
    path = checkpoint_path(m, job)
    fitted = None
    if path is not None and path.exists() and m.warm_start:
        try:
            fitted, report = fit_warm(path, train, valid, seed=m.seed, threads=m.threads, negatives=negatives,
                                      progress=progress, should_stop=should_stop, model=name, **options)
            echo(f"warm start from {path}: {report.summary()}")
        except (WarmStartMismatch, InputFileError) as e:  # another model, or an unreadable checkpoint
            echo(f"cold start: {e}")
    if fitted is None:
        fitted = fit(name, train, valid, seed=m.seed, threads=m.threads, negatives=negatives, progress=progress,
                     should_stop=should_stop, **options)
    if path is not None and not fitted.stopped:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(path, fitted.model, graph)
    return fitted


def generator_path(model: ModelSettings, job: str | None) -> Path | None:
    """Where a job keeps its node generator: ``<job>.generator.pt`` beside its link predictor."""
    path = checkpoint_path(model, job)
    return path.with_name(f"{job or 'enrich'}.generator.pt") if path is not None else None


def train_generator(graph: KGraph, m: ModelSettings, g: GeneratorSettings, link: ComplEx | None, *,
                    job: str | None = None, progress: bool = True, echo: Callable[[str], None] = lambda _: None,
                    should_stop: Callable[[], bool] | None = None) -> GeneratorFit:
    """Train the node generator: fine-tune the job's saved one when there is one (and
    ``m.warm_start``), else from scratch; then save it (not when ``should_stop`` cut it
    short). ``GeneratorFit.warm_start`` says which."""
    path = generator_path(m, job)
    options: dict[str, Any] = dict(epochs=g.epochs, max_seconds=g.max_seconds, threads=m.threads,
                                   progress=progress, should_stop=should_stop)
    fitted = None
    if path is not None and path.exists() and m.warm_start:
        try:
            fitted, report = fit_generator_warm(path, graph, link_model=link, seed=m.seed, **options)
            echo(f"generator warm start from {path}: {report.summary()}")
        except (WarmStartMismatch, InputFileError) as e:
            echo(f"generator cold start: {e}")
    if fitted is None:
        fitted = fit_generator(graph, link_model=link, seed=m.seed, **options)
    if path is not None and fitted.stop_reason != "stopped":
        save_generator(path, fitted.model, graph)
    return fitted


def reuse_model(graph: KGraph, m: ModelSettings, *, job: str | None = None,
                echo: Callable[[str], None] = lambda _: None) -> LinkPredictor | None:
    """The job's saved model, reading today's ``graph`` (new nodes included) to score it
    without training; ``None`` (and a line saying why) when it cannot: no checkpoint, an
    unreadable one, a model that keeps one vector per entity, or other relationship types."""
    path = checkpoint_path(m, job)
    if path is None or not path.exists():
        echo(f"no checkpoint to reuse{f' at {path}' if path else ' (model.checkpoint_dir is not set)'}: training")
        return None
    try:
        model = load_model(path)
    except InputFileError as e:
        echo(f"cannot reuse the checkpoint: {e}; training")
        return None
    if not model.inductive:
        echo(f"cannot reuse {path}: {type(model).__name__} keeps one vector per training entity; training")
        return None
    if model.relations != list(graph.relations):
        echo(f"cannot reuse {path}: the relationship types changed since it was trained; training")
        return None
    trained_on = set(model.entities or [])
    model.use_graph(graph)
    echo(f"reusing {path} without training: {graph.num_entities} entities "
         f"({sum(1 for e in graph.entities if e not in trained_on)} new since it was trained)")
    return model


def enrich(driver: neo4j.Driver, settings: Settings, *, job: str | None = None, progress: bool = True,
           echo: Callable[[str], None] = lambda _: None, should_stop: Callable[[], bool] | None = None,
           on_run_started: Callable[[str], None] | None = None, lock: JobLock | None = None,
           lock_ttl: float = 600.0, wait: bool = False, on_step: Callable[[str], None] | None = None) -> EnrichResult:
    """One enrichment run end to end; the run is marked failed if any step fails.

    ``job`` names the scheduled job (recorded on the run). ``should_stop`` is asked between
    steps, training epochs and writeback batches; when it says yes the run stops there with
    :class:`~kgcomplete.errors.Stopped` (marked failed; the next run completes the work).

    Every run holds a lock (:class:`~kgcomplete.db.locks.JobLock`), so two runs never do the
    same work at once: ``lock`` if the caller holds it (the scheduler holds its job's), else
    the run takes lock ``job`` (or ``"enrich"`` for a manual run) for ``lock_ttl`` seconds.
    If another run holds it, ``wait`` waits until it is free; otherwise
    :class:`~kgcomplete.errors.LockHeld` is raised before anything is done. While the run
    lasts, the lock's thread renews it and heartbeats the run.

    ``on_step`` is told the name of each step as it starts (``pull``, ``train``,
    ``suggest``, ``write``, ``generate``), e.g. to measure each one's memory.
    """
    if not (settings.suggest.enabled or settings.generator.enabled):
        raise ConfigError("settings 'suggest.enabled' and 'generator.enabled' are both false: nothing to propose")
    if lock is not None:
        return _enrich(driver, settings, lock, job=job, progress=progress, echo=echo, should_stop=should_stop,
                       on_run_started=on_run_started, on_step=on_step)
    name = job or MANUAL_LOCK

    def waiting(holder: dict) -> None:
        echo(f"waiting for lock {name!r}, held by {holder.get('owner')} until {holder.get('expires_at')} ...")

    with JobLock(driver, name, lock_ttl, database=settings.neo4j.database, wait=wait, on_wait=waiting,
                 should_stop=should_stop) as held:
        if not held.held:
            if should_stop is not None and should_stop():
                raise Stopped(f"stopped while waiting for lock {name!r}; nothing of this run was written")
            raise LockHeld(f"another run holds lock {name!r} (owner {held.holder.get('owner')}, until "
                           f"{held.holder.get('expires_at')}): this run did not start; wait for it (--wait) "
                           "or try again later")
        return _enrich(driver, settings, held, job=job, progress=progress, echo=echo, should_stop=should_stop,
                       on_run_started=on_run_started, on_step=on_step)


def _enrich(driver: neo4j.Driver, settings: Settings, lock: JobLock, *, job: str | None, progress: bool,
            echo: Callable[[str], None], should_stop: Callable[[], bool] | None,
            on_run_started: Callable[[str], None] | None,
            on_step: Callable[[str], None] | None = None) -> EnrichResult:
    """:func:`enrich` under the lock it holds."""
    db = settings.neo4j.database
    step = on_step or (lambda _: None)

    def checkpoint(step: str) -> None:
        if lock.lost:
            raise LockLost(f"lost lock {lock.name!r} before {step} (it expired and another run took it); "
                           "this run stopped there")
        if should_stop is not None and should_stop():
            raise Stopped(f"stopped before {step}; nothing of this run was written")

    def halted() -> bool:   # asked between epochs and writeback batches
        return lock.lost or (should_stop is not None and should_stop())

    m, p, g = settings.model, settings.suggest, settings.generator
    clock: dict[str, float] = {}
    started = t0 = time.perf_counter()
    step("pull")
    graph = pull(driver, settings.graph, database=db, progress=progress)
    seen: Decisions = decisions(driver, database=db)
    clock["pull"] = time.perf_counter() - t0
    echo(f"pulled {graph.summary()}; {len(seen.pending)} pending, {len(seen.accepted)} accepted, "
         f"{len(seen.rejected)} rejected suggestions")
    parameters = {"model": m.name, "epochs": m.epochs, **m.options, "reuse": m.reuse, "top_k": p.top_k,
                  "min_probability": p.min_probability, "max_total": p.max_total, "search": p.search}
    kind = "+".join(k for k, on in (("links", p.enabled), ("entities", g.enabled)) if on)
    run_id = start_run(driver, model=m.name, parameters=parameters, kind=kind, job=job, lock=lock.name, database=db)
    lock.run_id = run_id   # the lock's thread heartbeats the run from now on, whatever step runs
    if on_run_started is not None:
        on_run_started(run_id)
    result = EnrichResult(run_id, graph, seconds=clock)
    try:
        if p.enabled:
            checkpoint("training")
            step("train")
            t0 = time.perf_counter()
            train, valid, _ = graph.split(valid=m.valid_fraction, test=0.0, seed=m.seed, stable=True)
            reused = reuse_model(graph, m, job=job, echo=echo) if m.reuse else None
            if reused is not None:
                result.fit, result.reused = FitResult(model=reused, stop_reason="reused"), True
            else:
                result.fit = train_model(graph, train, valid, m, job=job,
                                         negatives=graph.index_triples(seen.rejected), progress=progress, echo=echo,
                                         should_stop=halted)
                echo(f"trained {type(result.fit.model).__name__}: {result.fit.epochs} epochs in "
                     f"{result.fit.seconds:.0f} s, valid MRR {result.fit.best_valid_mrr or 0:.3f}")
            clock["train"] = time.perf_counter() - t0
            if result.fit.model.inductive:  # held-out edges must not be read while calibrating on them
                result.fit.model.use_graph(train)
            checkpoint("suggesting")
            step("suggest")
            t0 = time.perf_counter()
            policy = SuggestPolicy(relation_types=p.relationship_types or None, top_k=p.top_k,
                                   min_probability=p.min_probability, max_total=p.max_total,
                                   type_constraints={t: (c.heads, c.tails) for t, c in p.type_constraints.items()},
                                   query_budget=p.query_budget, anchor_policy=p.anchor_policy,
                                   search=p.search, rerank=p.rerank)
            echo(f"calibrating on {valid.num_triples} held-out relationships ...")
            result.calibrator = Calibrator.fit_heldout(result.fit.model, train, valid, policy, seed=m.seed,
                                                       progress=progress)
            if p.learn_from_reviews:
                result.calibrator = result.calibrator.with_feedback(seen.outcomes)
            echo(f"calibrated in {time.perf_counter() - t0:.0f} s; searching candidates of "
                 f"{len(p.relationship_types) or graph.num_relations} relationship types ...")
            if result.fit.model.inductive:  # suggestions read the whole graph
                result.fit.model.use_graph(graph)
            result.suggestions = suggest(result.fit.model, graph, result.calibrator, policy,
                                         exclude=seen.pending + seen.rejected, model_name=m.name, progress=progress,
                                         echo=echo)
            clock["suggest"] = time.perf_counter() - t0
            echo(f"{len(result.suggestions)} suggestions with their evidence in {clock['suggest']:.0f} s; writing back ...")
            checkpoint("writing")
            step("write")
            t0 = time.perf_counter()
            result.report = write_suggestions(driver, run_id, result.suggestions, settings.graph, database=db,
                                              batch_size=p.write_batch_size, progress=progress, should_stop=halted)
            clock["write"] = time.perf_counter() - t0
        if g.enabled:
            checkpoint("proposing entities")
            step("generate")
            echo(f"training the node generator on {graph.num_entities} entities ...")
            t0 = time.perf_counter()
            link = result.fit.model if g.share_link and result.fit is not None and \
                isinstance(result.fit.model, ComplEx) else None
            if g.share_link and link is None:
                echo("[generator] share_link: no trained ComplEx link predictor in this run; "
                     "the generator trains its own decoder")
            result.generator = train_generator(graph, m, g, link, job=job, progress=progress, echo=echo,
                                               should_stop=halted)
            result.entities = propose_entities(result.generator.model, graph, anchors=g.anchors or None,
                                               count=g.count, label=g.label, min_probability=g.min_probability,
                                               min_novelty=g.min_novelty, max_relations=g.max_relations,
                                               seed=m.seed)
            clock["generate"] = time.perf_counter() - t0
            echo(f"generator ({'warm start' if result.generator.warm_start else 'from scratch'}): "
                 f"{result.generator.epochs} epochs in {result.generator.seconds:.0f} s "
                 f"({result.generator.stop_reason}), {len(result.entities)} proposed entities")
            checkpoint("writing entities")
            result.entity_report = write_entities(driver, run_id, result.entities, settings.graph,
                                                  model="generator", database=db)
        finish_run(driver, run_id, seconds=time.perf_counter() - started, metrics=result.metrics(), database=db)
        return result
    except BaseException as e:
        fail_run(driver, run_id, e, database=db)
        raise
