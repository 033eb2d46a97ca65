"""Job locks in Neo4j: at most one run of a job at a time, across processes and machines.

A lock is one ``(:KGCLock {name})`` node with an ``owner`` and an ``expires_at`` taken from
the database's clock (so workers' clocks do not matter). A live holder renews it; a crashed
one stops renewing and the lock expires, so nobody is blocked forever.

Example:
    >>> with JobLock(driver, "nightly", ttl=600) as lock:   # doctest: +SKIP
    ...     if lock.held:
    ...         run_the_job()
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Callable

import neo4j

from kgcomplete.db.runs import heartbeat

METADATA = {"app": "kgcomplete", "op": "lock"}


def new_owner() -> str:
    """A lock owner id that names the worker: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(driver: neo4j.Driver, name: str, owner: str, ttl: float, *, database: str | None = None) -> tuple[bool, dict]:
    """Take lock ``name`` for ``ttl`` seconds if it is free, expired or already ``owner``'s.

    Returns ``(acquired, lock)`` where ``lock`` has the holder's ``owner`` and ``expires_at``.
    """
    with driver.session(database=database) as session:
        return session.execute_write(_acquire, name, owner, float(ttl))


@neo4j.unit_of_work(metadata=METADATA)
def _acquire(tx: neo4j.ManagedTransaction, name: str, owner: str, ttl: float) -> tuple[bool, dict]:
    # The first statement write-locks the node; the second then reads the committed holder,
    # so two workers cannot both see the lock free.
    tx.run("MERGE (l:KGCLock {name: $name}) SET l.touched_at = datetime()", name=name).consume()
    record = tx.run(
        "MATCH (l:KGCLock {name: $name}) "
        "WITH l, (l.owner IS NULL OR l.owner = $owner OR l.expires_at < datetime()) AS free "
        "FOREACH (_ IN CASE WHEN free THEN [1] ELSE [] END | "
        "  SET l.owner = $owner, l.acquired_at = datetime(), "
        "      l.expires_at = datetime() + duration({milliseconds: toInteger($ttl * 1000)})) "
        "RETURN free, l.owner AS owner, toString(l.expires_at) AS expires_at",
        name=name, owner=owner, ttl=ttl).single(strict=True)
    return bool(record["free"]), {"owner": record["owner"], "expires_at": record["expires_at"]}


def renew(driver: neo4j.Driver, name: str, owner: str, ttl: float, *, database: str | None = None) -> bool:
    """Push the expiry of ``owner``'s lock ``ttl`` seconds ahead; False if it is no longer theirs."""
    records, _, _ = driver.execute_query(
        "MATCH (l:KGCLock {name: $name}) WHERE l.owner = $owner "
        "SET l.expires_at = datetime() + duration({milliseconds: toInteger($ttl * 1000)}) RETURN count(l) AS n",
        name=name, owner=owner, ttl=float(ttl), database_=database)
    return records[0]["n"] == 1


def release(driver: neo4j.Driver, name: str, owner: str, *, database: str | None = None) -> bool:
    """Free ``owner``'s lock (the node stays, without an owner); False if it was not theirs."""
    records, _, _ = driver.execute_query(
        "MATCH (l:KGCLock {name: $name}) WHERE l.owner = $owner "
        "SET l.owner = null, l.expires_at = null, l.released_at = datetime() RETURN count(l) AS n",
        name=name, owner=owner, database_=database)
    return records[0]["n"] == 1


HEARTBEAT_SECONDS = 60.0   # a held lock is renewed, and its run heartbeats, at least this often


class JobLock:
    """Context manager: acquire on enter, renew in a thread every ``ttl / 3`` seconds (at most
    :data:`HEARTBEAT_SECONDS`), release on exit. ``held`` says whether it was acquired;
    ``holder`` names the owner otherwise.

    With ``wait``, entering waits until the lock is free (polling; a crashed holder's lock
    expires), calling ``on_wait`` once with the holder, and gives up when ``should_stop``
    says so. While held, the thread also heartbeats ``run_id`` once it is set (the run being
    done under the lock), so a run is seen alive however long one step takes; ``on_renew``
    runs after each renewal."""

    def __init__(self, driver: neo4j.Driver, name: str, ttl: float, *, owner: str | None = None,
                 database: str | None = None, on_renew: Callable[[], None] | None = None, wait: bool = False,
                 on_wait: Callable[[dict], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.driver, self.name, self.ttl, self.database = driver, name, float(ttl), database
        self.owner = owner or new_owner()
        self.on_renew = on_renew
        self.wait, self.on_wait, self.should_stop = wait, on_wait, should_stop
        self.period = min(self.ttl / 3, HEARTBEAT_SECONDS)
        self.run_id: str | None = None
        self.held = False
        self.lost = False
        self.holder: dict = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> JobLock:
        waited = False
        while True:
            self.held, self.holder = acquire(self.driver, self.name, self.owner, self.ttl, database=self.database)
            if self.held or not self.wait or (self.should_stop is not None and self.should_stop()):
                break
            if not waited and self.on_wait is not None:
                self.on_wait(self.holder)
            waited = True
            if self._stop.wait(min(self.period, 2.0)):
                break
        if self.held:
            self._thread = threading.Thread(target=self._keep, name=f"kgc-lock-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stop.wait(self.period):
            try:
                if not renew(self.driver, self.name, self.owner, self.ttl, database=self.database):
                    self.lost = True
                    return
                if self.run_id is not None:
                    heartbeat(self.driver, self.run_id, database=self.database)
                if self.on_renew is not None:
                    self.on_renew()
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
                pass  # the server is away; try again next tick (the lock may expire meanwhile)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.held and not self.lost:
            try:
                release(self.driver, self.name, self.owner, database=self.database)
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
                pass  # it expires by itself
