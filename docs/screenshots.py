"""Screenshots of the reviewer's day in Neo4j Browser, taken by a real headless Chromium:
the guide, the evidence view, and one suggestion before and after the analyst's decisions.

    .venv/bin/python docs/screenshots.py            # writes docs/browser-*.png

It starts its own local Neo4j in a temporary folder on free ports (stopped at the end),
loads the bundled sample graph, runs one enrichment and drives the guide as an analyst
would (needs Chromium: scripts/test-deps.sh).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kgcomplete import Client
from kgcomplete.server.browser import serve
from kgcomplete.server.browser_driver import NeoBrowser
from kgcomplete.server.local import LocalNeo4j, free_port

DOCS = Path(__file__).resolve().parent
PASSWORD = "kgc-screenshots"


def blocks_then_run(nb: NeoBrowser):
    """Run every block of the current slide; the last frame."""
    frame = None
    for block in nb.slide_blocks():
        frame = nb.run_block(block)
        if not frame.ok:
            sys.exit(f"{frame.command!r} failed: {frame.error}")
    return frame


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kgc-shots-") as home:
        server = LocalNeo4j(home, bolt_port=free_port(), http_port=free_port(), password=PASSWORD, heap="512m")
        server.start()
        guide = serve(free_port(), background=True, labels=["Country"])
        try:
            with Client(server.bolt_uri, auth=("neo4j", PASSWORD)) as kgc:
                kgc.load("sample", progress=False)
                kgc.settings.suggest.top_k, kgc.settings.suggest.max_total = 3, 50
                kgc.enrich(progress=False)
            with NeoBrowser(server.browser_url, server.bolt_uri, "neo4j", PASSWORD, width=1300, height=900) as nb:
                nb.play(f"http://localhost:{guide.server_address[1]}/review.html")
                blocks_then_run(nb)                                    # the style
                nb.next_slide()
                nb.guide.screenshot(path=str(DOCS / "browser-guide.png"))  # the pending slide
                blocks_then_run(nb)
                nb.next_slide()
                evidence = blocks_then_run(nb)                        # the evidence view
                nb.screenshot(DOCS / "browser-evidence.png", evidence)
                before = nb.run("MATCH (a)-[s:SUGGESTED]->(b) WHERE s.status = 'pending' AND s.kind IS NULL "
                                "WITH a, s, b ORDER BY s.probability DESC, s.id LIMIT 2 RETURN a, s, b")
                nb.screenshot(DOCS / "browser-before.png", before)
                for _ in range(2):
                    nb.next_slide()
                blocks_then_run(nb)                                   # accept the most probable
                nb.next_slide()
                blocks_then_run(nb)                                   # reject the next one
                nb.next_slide()
                after = blocks_then_run(nb)                           # what the decisions did
                nb.screenshot(DOCS / "browser-after.png", after)
        finally:
            guide.shutdown()
            server.stop()
    print("wrote", ", ".join(f"docs/browser-{n}.png" for n in ("guide", "evidence", "before", "after")))


if __name__ == "__main__":
    main()
