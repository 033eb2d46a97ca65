"""The main job on the embedded default: a local Neo4j loaded with the bundled sample graph.

``kgcomplete demo`` starts (or reuses) the local server, loads the sample graph
(idempotently), runs one enrichment (pull, train, suggest links, propose new entities,
write back) and prints the top suggestions with their evidence and where to review them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from kgcomplete.client import Client
from kgcomplete.server.local import LocalNeo4j


def run_demo(home: Path | None = None, bolt_port: int = 7687, http_port: int = 7474,
             echo: Callable[[str], None] = print) -> None:
    server = LocalNeo4j(home, bolt_port=bolt_port, http_port=http_port,
                        password=os.environ.get("NEO4J_PASSWORD") or None)
    status = server.start()
    echo(status.describe())
    password = os.environ.get("NEO4J_PASSWORD") or server.password_on_file() or ""
    with Client(server.bolt_uri, auth=("neo4j", password)) as kgc:
        report = kgc.load("sample")
        echo(f"sample graph (nations): {report.describe()}")
        kgc.settings.suggest.top_k, kgc.settings.suggest.max_total = 3, 50
        kgc.settings.generator.enabled, kgc.settings.generator.count = True, 3
        result = kgc.enrich(echo=echo)
    echo(f"run {result.run_id}: {result.report.describe()}")
    for s in result.suggestions[:5]:
        for line in s.describe(max_evidence=2):
            echo(line)
    if result.entity_report is not None:
        echo(f"new entities: {result.entity_report.describe()}")
        for e in result.entities[:3]:
            for line in e.describe():
                echo(line)
    echo(f"Review them in Neo4j Browser: {status.browser_url}")
    echo("  run `kgcomplete guide`, then in Browser: :play http://localhost:8001/review.html")
    echo("  or from the shell: kgcomplete review list | accept ID | reject ID")
    echo("  proposed entities: kgcomplete review entities | accept-entity ID --key K | reject-entity ID")
