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
from typing import Sequence

from kgcomplete.db import CYPHER_DIR
from kgcomplete.db.review import REVIEW_DIR

BROWSER_DIR = CYPHER_DIR / "browser"

AUTOCOMPLETE_OFF = ":config autoComplete: false"

# (title, statement in cypher/review/, text, extra blocks run before the statement's parameters)
SLIDES = [
    ("Pending suggestions", "pending",
     "kgcomplete proposes missing relationships as <code>SUGGESTED</code> relationships, drawn in red "
     "with their type and probability (<code>students? 40%</code>). Run the parameter blocks, then the query: "
     "the most probable first, names beside keys.", []),
    ("One suggestion and its evidence", "evidence",
     "The graph shows the two nodes, the suggestion, and exactly the real paths its reasons cite, nothing "
     "else. Browser's <em>Connect result nodes</em> setting would add every other relationship between "
     "those nodes: the first block turns it off (<code>:config autoComplete: true</code> turns it back on). "
     "The <code>id</code> block picks the most probable pending suggestion; paste another id to see that one.",
     [AUTOCOMPLETE_OFF]),
    ("Everything about one node", "for_node",
     "Every suggestion that touches one node, by its key, whatever its status (rejected ones included).", []),
    ("Accept", "accept",
     "Accepting creates the real relationship of the suggested type in the same transaction and keeps "
     "the suggestion for audit, captioned <code>type ✓ accepted</code>; it leaves the pending views.", []),
    ("Reject", "reject",
     "Rejected suggestions stay in the graph, captioned <code>type ✗ rejected</code>: out of the pending "
     "views, still listed for their nodes, never proposed again, and hard negatives for the next training run.",
     []),
    ("What your decisions did", "decided",
     "Recent decisions as they now stand: an accepted suggestion is drawn as the real relationship it "
     "became, a rejected one as its <code>✗ rejected</code> suggestion.", []),
    ("Accept the confident ones", "accept_above",
     "Accept every pending suggestion at or above a probability, optionally of one type.", []),
    ("Proposed new entities", "entities_pending",
     "The node generator proposes whole missing entities: yellow <code>SuggestedEntity</code> nodes captioned "
     "with their proposed label and strongest neighbour (<code>Country? near usa</code>), with their "
     "probability, novelty and <code>SUGGESTED</code> relationships to existing nodes.", []),
    ("Accept a proposed entity", "accept_entity",
     "Give it a new key (and a name). It becomes a real node with its label, and its pending relationships "
     "become real, in one transaction. Reject single relationships first if they are wrong.", []),
    ("Reject a proposed entity", "reject_entity",
     "It stays as a rejected proposal with its relationships; nothing like it is proposed again.", []),
    ("Statistics by type", "stats_by_type", "What is pending, accepted and rejected, per relationship type.", []),
    ("Statistics by run", "stats_by_run", "Every enrichment run with what it wrote and how its suggestions fared.",
     []),
    ("Run history", "runs", "Enrichment runs, newest first: job, status, counts, metrics and errors.", []),
]


def parameters(statement: str) -> list[str]:
    """The ``:param`` blocks of a review statement (its ``// :param name => default`` lines)."""
    return [ln.strip()[2:].strip() for ln in statement.splitlines() if ln.strip().startswith("// :param")]


def _block(text: str) -> str:
    return f'<pre class="pre-scrollable code runnable">{html.escape(text)}</pre>'


def render_guide(port: int = 8001) -> str:
    """The reviewer's guide as Neo4j Browser play-guide HTML (``port``: where the style is served).

    Every slide runs as written: its blocks, clicked top to bottom, set every parameter its
    query uses (with a default that needs no guessing) before the query."""
    slides = []
    for title, name, text, extra in SLIDES:
        statement = (REVIEW_DIR / f"{name}.cypher").read_text().strip()
        blocks = "".join(_block(b) for b in [*extra, *parameters(statement), statement])
        slides.append('<slide class="row-fluid"><div class="col-sm-12">'
                      f"<h3>{html.escape(title)}</h3><p>{text}</p>{blocks}</div></slide>")
    intro = ('<slide class="row-fluid"><div class="col-sm-12"><h3>Reviewing kgcomplete suggestions</h3>'
             "<p>Each suggestion is a <code>SUGGESTED</code> relationship between two existing nodes with "
             "<code>type</code>, <code>probability</code>, <code>evidence</code> and <code>status</code> "
             "(pending, accepted, rejected). Your real data is only changed when you accept.</p>"
             "<p>On every slide, click the blocks from top to bottom and run each: the parameter blocks "
             "set what the query needs. First the colours and captions:</p>"
             f"{_block(f':style http://localhost:{port}/style.grass')}</div></slide>")
    return ('<article class="guide"><carousel class="deck container-fluid">'
            + intro + "".join(slides) + "</carousel></article>\n")


def render_style(key_property: str = "uid", name_property: str = "name", labels: Sequence[str] = ()) -> str:
    """``style.grass`` for these settings: node captions ``{name} {key}`` (names beside keys),
    and every label in ``labels`` drawn like the base label, so Browser gives no node its own
    automatic colour."""
    style = (BROWSER_DIR / "style.grass").read_text()
    style = style.replace("'{name} {uid}'", f"'{{{name_property}}} {{{key_property}}}'")
    own = {"Entity", "SuggestedEntity", "KGCRun", "KGCLock", "KGCRelationType", "KGCWriteBatch"}
    body = style[style.index("node.Entity {") + len("node.Entity "):].split("}", 1)[0] + "}"
    return style + "".join(f"node.{lab} {body}\n" for lab in labels if lab not in own and lab.isidentifier())


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
        path = self.path.split("?")[0]
        if path in ("/review.html", "/"):
            body, kind = render_guide(int(self.server.server_address[1])).encode(), "text/html"  # type: ignore[index]
        elif path == "/style.grass":
            body, kind = self.server.style.encode(), "text/plain"  # type: ignore[attr-defined]
        else:
            return False
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        return True


def serve(port: int = 8001, host: str = "localhost", background: bool = False, *, key_property: str = "uid",
          name_property: str = "name", labels: Sequence[str] = ()) -> ThreadingHTTPServer:
    """Serve the guide (``/review.html``) and the style (``/style.grass``, see
    :func:`render_style`) on ``host:port``."""
    server = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(BROWSER_DIR)))
    server.style = render_style(key_property, name_property, labels)  # type: ignore[attr-defined]
    if background:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
