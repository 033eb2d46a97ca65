"""The Neo4j a benchmark runs against: its own local server in a temporary folder, or the
server named by KGC_BENCH_NEO4J_URI / KGC_BENCH_NEO4J_PASSWORD (its default database is
wiped)."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

from kgcomplete.config import Settings, load_settings
from kgcomplete.server.local import LocalNeo4j, free_port


@contextmanager
def bench_settings(heap: str = "2g", pagecache: str = "1g") -> Iterator[Settings]:
    """Settings pointing at an empty database for the duration of the block."""
    with bench_server(heap, pagecache) as (settings, _):
        yield settings


@contextmanager
def bench_server(heap: str = "2g", pagecache: str = "1g") -> Iterator[tuple[Settings, LocalNeo4j | None]]:
    """Settings pointing at an empty database, and the local server when the benchmark
    started its own (``None`` for KGC_BENCH_NEO4J_URI)."""
    uri = os.environ.get("KGC_BENCH_NEO4J_URI")
    password = os.environ.get("KGC_BENCH_NEO4J_PASSWORD", "")
    with tempfile.TemporaryDirectory(prefix="kgc-bench-") as tmp:
        server = None
        if not uri:
            password = "bench-password"
            server = LocalNeo4j(tmp, bolt_port=free_port(), http_port=free_port(), password=password,
                                heap=heap, pagecache=pagecache)
            server.start()
            uri = server.bolt_uri
        try:
            settings = load_settings(None, env={}, neo4j={"uri": uri, "password": password})
            from kgcomplete.db.connect import connect

            with connect(settings.neo4j) as driver, driver.session(database=settings.neo4j.database) as s:
                s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            yield settings, server
        finally:
            if server is not None:
                server.stop()
