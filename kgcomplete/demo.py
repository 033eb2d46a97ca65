"""The main job on the embedded default: a local Neo4j loaded with the bundled sample graph.

``kgcomplete demo`` starts (or reuses) the local server, loads the sample graph
(idempotently), pulls it back as a snapshot and prints what it found and where to look.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from kgcomplete.config import load_settings
from kgcomplete.datasets import sample_dataset_dir
from kgcomplete.neo4j.connection import connect, translate_errors
from kgcomplete.neo4j.connector import pull
from kgcomplete.neo4j.loader import load_path
from kgcomplete.neo4j.local import LocalNeo4j


def run_demo(home: Path | None = None, bolt_port: int = 7687, http_port: int = 7474,
             echo: Callable[[str], None] = print) -> None:
    server = LocalNeo4j(home, bolt_port=bolt_port, http_port=http_port,
                        password=os.environ.get("NEO4J_PASSWORD") or None)
    status = server.start()
    echo(status.describe())
    password = os.environ.get("NEO4J_PASSWORD") or server.password_on_file()
    settings = load_settings(None, env={}, neo4j={"uri": server.bolt_uri, "password": password})
    with translate_errors(settings.neo4j), connect(settings.neo4j) as driver:
        report = load_path(driver, sample_dataset_dir(), settings.graph, splits=("train",))
        echo(f"sample graph (nations): {report.describe()}")
        graph = pull(driver, settings.graph)
    echo(f"pulled snapshot: {graph.summary()}")
    echo(f"labels: {', '.join(graph.labels)}; first relationship types: {', '.join(graph.relations[:5])}")
    echo(f"Explore it in Neo4j Browser: {status.browser_url}")
    echo("  try: MATCH (a:Entity)-[r]->(b:Entity) RETURN a, r, b LIMIT 50")
