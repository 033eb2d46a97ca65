"""Scheduled enrichment: the ``[[jobs]]`` of the settings on APScheduler cron triggers.

- At most one run of a job at a time, also across processes and machines: each run holds
  the job's lock in Neo4j (:mod:`kgcomplete.db.locks`); a worker that finds it held
  logs ``job_skipped`` and waits for the next start. A crashed worker's lock expires.
- Misfires and coalescing follow each job's ``misfire_grace_seconds`` and ``coalesce``;
  within one process APScheduler also keeps ``max_instances=1``.
- SIGINT / SIGTERM stop gracefully: no new runs start, and a running one stops at its next
  safe point (between steps, or after the writeback batch in flight), marked failed with
  the reason; the next run completes the work.
- Logs are JSON lines on stderr: ``{"time", "level", "event", "job", ...}``.

Example:
    >>> serve(load_settings("kgcomplete.toml"))            # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from typing import Any, Iterable

import neo4j
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from kgcomplete.config import JobSettings, Settings
from kgcomplete.errors import ConfigError, KGCompleteError, Stopped

log = logging.getLogger("kgcomplete.jobs")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, event, plus the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                               "level": record.levelname.lower(), "event": record.getMessage()}
        if record.name != log.name:
            out["logger"] = record.name
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(stream=None, level: int = logging.INFO) -> logging.Handler:
    """Send kgcomplete's and APScheduler's logs as JSON lines to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    for name in (log.name, "apscheduler"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level if name == log.name else logging.WARNING)
        logger.propagate = False
    return handler


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, name, extra={"fields": fields})


def trigger(job: JobSettings) -> CronTrigger:
    """The job's cron trigger (the expression was validated with the settings)."""
    return CronTrigger.from_crontab(job.cron, timezone=job.timezone)


def run_job(settings: Settings, job: JobSettings, *, stop: threading.Event | None = None,
            progress: bool = False) -> str:
    """One run of ``job`` under its lock: ``"completed"``, ``"skipped"`` (another worker holds
    the lock), ``"stopped"`` or ``"failed"``. Never raises for a failed run: it is logged."""
    from kgcomplete.db.connect import connect
    from kgcomplete.db.locks import JobLock
    from kgcomplete.jobs.enrich import enrich

    stop = stop or threading.Event()
    run: dict[str, str] = {}
    t0 = time.perf_counter()
    try:
        with connect(settings.neo4j) as driver:
            with JobLock(driver, job.name, job.lock_ttl_seconds, database=settings.neo4j.database) as lock:
                if not lock.held:
                    event("job_skipped", job=job.name, reason="another worker holds the job's lock",
                          holder=lock.holder.get("owner"), lock_expires_at=lock.holder.get("expires_at"))
                    return "skipped"
                event("job_started", job=job.name, worker=lock.owner)

                def started(run_id: str) -> None:
                    run["id"] = run_id
                    event("run_started", job=job.name, run_id=run_id)

                result = enrich(driver, job_settings(settings, job), job=job.name, progress=progress,
                                echo=lambda line: event("job_progress", job=job.name, run_id=run.get("id"),
                                                        message=line),
                                should_stop=stop.is_set, on_run_started=started, lock=lock)
                event("job_finished", job=job.name, run_id=result.run_id, written=result.report.written,
                      updated=result.report.updated, skipped=result.report.skipped,
                      entities_written=result.entity_report.written if result.entity_report else 0,
                      seconds=round(time.perf_counter() - t0, 1),
                      metrics={k: round(v, 4) for k, v in result.metrics().items()})
                return "completed"
    except Stopped as e:
        event("job_stopped", logging.WARNING, job=job.name, run_id=run.get("id"), reason=str(e))
        return "stopped"
    except (KGCompleteError, neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as e:
        event("job_failed", logging.ERROR, job=job.name, run_id=run.get("id"), error=str(e))
        return "failed"
    except Exception as e:  # a bug: keep the worker alive, but keep the traceback too
        log.error("job_failed", exc_info=True, extra={"fields": {"job": job.name, "run_id": run.get("id"),
                                                                 "error": f"{type(e).__name__}: {e}"}})
        return "failed"


def job_settings(settings: Settings, job: JobSettings) -> Settings:
    """The settings a job runs with: its own checkpoint, links and/or entities switched on."""
    out = settings.model_copy(deep=True)
    out.generator.enabled = job.entities
    out.suggest.enabled = job.links
    return out


def select(settings: Settings, names: Iterable[str] | None) -> list[JobSettings]:
    """The configured jobs called ``names`` (all if None); ConfigError if none are configured."""
    if not settings.jobs:
        raise ConfigError("no [[jobs]] in the settings: add one, e.g. [[jobs]] name = \"nightly\" "
                          "cron = \"0 2 * * *\"")
    return [settings.job(n) for n in names] if names else list(settings.jobs)


def build_scheduler(settings: Settings, jobs: list[JobSettings], stop: threading.Event) -> BackgroundScheduler:
    """A scheduler with one cron-triggered entry per job (not started)."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1})
    for job in jobs:
        scheduler.add_job(run_job, trigger(job), args=(settings, job), kwargs={"stop": stop}, id=job.name,
                          name=job.name, coalesce=job.coalesce, misfire_grace_time=job.misfire_grace_seconds,
                          max_instances=1)
    return scheduler


def serve(settings: Settings, *, jobs: Iterable[str] | None = None, once: bool = False,
          stop: threading.Event | None = None) -> int:
    """Run the jobs on their cron triggers until SIGINT/SIGTERM (or ``stop`` is set).

    ``once`` runs each selected job now, one after another, and returns. The exit code is 0,
    or 1 if ``once`` and a run failed.
    """
    selected = select(settings, jobs)
    stop = stop or threading.Event()
    _on_signals(stop)
    if once:
        outcomes = []
        for job in selected:
            if stop.is_set():
                break
            outcomes.append(run_job(settings, job, stop=stop))
        return 1 if "failed" in outcomes else 0
    scheduler = build_scheduler(settings, selected, stop)
    scheduler.start()
    for entry in scheduler.get_jobs():
        event("job_scheduled", job=entry.id, cron=settings.job(entry.id).cron,
              timezone=settings.job(entry.id).timezone, next_run=entry.next_run_time)
    stop.wait()
    event("scheduler_stopping", reason="stop requested; a running job stops at its next safe point")
    scheduler.shutdown(wait=True)  # a running job stops at its next safe point
    event("scheduler_stopped")
    return 0


def _on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame) -> None:
        event("signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
