"""Neo4j Browser support: a reviewer's guide and a GraSS style, served on localhost.

The guide is rendered from the very statements in ``cypher/review/`` (so it can never
drift from the CLI) as a Browser "play" guide: slides with runnable code. Neo4j Browser
loads remote guides only from allowed hosts; ``localhost`` is one by default
(``browser.remote_content_hostname_allowlist``), so :func:`serve` listens on
``localhost`` and sends the CORS header Browser's fetch needs.

In Neo4j Browser::

    :play http://localhost:8001/review.html
    :style http://localhost:8001/style.grass
"""

from __future__ import annotations

import html
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from kgcomplete.db import CYPHER_DIR
from kgcomplete.db.review import REVIEW_DIR

BROWSER_DIR = CYPHER_DIR / "browser"

SLIDES = [
    ("Pending suggestions", "pending",
     "kgcomplete proposes missing relationships as <code>SUGGESTED</code> relationships, drawn in red "
     "with their type and probability. Set the parameters, then run the query: the most probable first."),
    ("One suggestion and its evidence", "evidence",
     "Paste an <code>id</code> from the list. The graph shows the two nodes, the suggestion, and the real "
     "paths that connect them: what the <code>evidence</code> strings describe."),
    ("Everything about one node", "for_node", "Every suggestion that touches one node, by its key."),
    ("Accept", "accept",
     "Accepting creates the real relationship of the suggested type in the same transaction and keeps "
     "the suggestion, marked <code>accepted</code>, for audit."),
    ("Accept the confident ones", "accept_above",
     "Accept every pending suggestion at or above a probability, optionally of one type."),
    ("Reject", "reject",
     "Rejected suggestions stay in the graph marked <code>rejected</code>: they are never proposed again "
     "and the next training run uses them as hard negatives."),
    ("Proposed new entities", "entities_pending",
     "The node generator proposes whole missing entities: yellow <code>SuggestedEntity</code> nodes with "
     "their proposed label, probability, novelty and <code>SUGGESTED</code> relationships to existing nodes."),
    ("Accept a proposed entity", "accept_entity",
     "Give it a new key (and a name). It becomes a real node with its label, and its pending relationships "
     "become real, in one transaction. Reject single relationships first if they are wrong."),
    ("Reject a proposed entity", "reject_entity",
     "It stays as a rejected proposal with its relationships; nothing like it is proposed again."),
    ("Statistics by type", "stats_by_type", "What is pending, accepted and rejected, per relationship type."),
    ("Statistics by run", "stats_by_run", "Every enrichment run with what it wrote and how its suggestions fared."),
    ("Run history", "runs", "Enrichment runs, newest first: job, status, counts, metrics and errors."),
]


def render_guide(port: int = 8001) -> str:
    """The reviewer's guide as Neo4j Browser play-guide HTML (``port``: where the style is served)."""
    slides = []
    for title, name, text in SLIDES:
        statement = (REVIEW_DIR / f"{name}.cypher").read_text().strip()
        params = [ln.strip()[2:].strip() for ln in statement.splitlines() if ln.strip().startswith("// :param")]
        param_block = "".join(f'<pre class="pre-scrollable code runnable">{html.escape(p)}</pre>' for p in params)
        slides.append(
            '<slide class="row-fluid"><div class="col-sm-12">'
            f"<h3>{html.escape(title)}</h3><p>{text}</p>{param_block}"
            f'<pre class="pre-scrollable code runnable">{html.escape(statement)}</pre>'
            "</div></slide>")
    intro = ('<slide class="row-fluid"><div class="col-sm-12"><h3>Reviewing kgcomplete suggestions</h3>'
             "<p>Each suggestion is a <code>SUGGESTED</code> relationship between two existing nodes with "
             "<code>type</code>, <code>probability</code>, <code>evidence</code> and <code>status</code> "
             "(pending, accepted, rejected). Your real data is only changed when you accept.</p>"
             f"<p>For the colours, run <code>:style http://localhost:{port}/style.grass</code>.</p></div></slide>")
    return ('<article class="guide"><carousel class="deck container-fluid">'
            + intro + "".join(slides) + "</carousel></article>\n")


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", "*"))
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def do_GET(self) -> None:
        if not self._guide(send_body=True):
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._guide(send_body=False):
            super().do_HEAD()

    def _guide(self, send_body: bool) -> bool:
        if self.path.split("?")[0] not in ("/review.html", "/"):
            return False
        body = render_guide(int(self.server.server_address[1])).encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        return True


def serve(port: int = 8001, host: str = "localhost", background: bool = False) -> ThreadingHTTPServer:
    """Serve the guide (``/review.html``) and the style (``/style.grass``) on ``host:port``."""
    server = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(BROWSER_DIR)))
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
