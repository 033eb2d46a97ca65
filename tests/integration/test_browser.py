"""The Neo4j Browser guide and style: rendered from cypher/review, served on localhost."""

from __future__ import annotations

import html
import re
import urllib.request

from conftest import free_port

from kgcomplete.db.review import REVIEW_DIR
from kgcomplete.server.browser import SLIDES, render_guide, render_style, serve


def test_guide_runs_the_review_statements():
    page = render_guide()
    blocks = [html.unescape(b) for b in re.findall(r'<pre class="pre-scrollable code runnable">(.*?)</pre>', page, re.S)]
    for _, name, _, _ in SLIDES:
        assert (REVIEW_DIR / f"{name}.cypher").read_text().strip() in blocks
    assert {p.name[:-7] for p in REVIEW_DIR.glob("*.cypher")} == {name for _, name, _, _ in SLIDES}
    params = [b for b in blocks if b.startswith(":param")]
    assert params and all(re.fullmatch(r":param \w+ => .+", p) for p in params)
    # Browser leaves the editor empty when a block reads `=> null`: no block may
    assert not any(re.search(r"=>\s*null\b", p) for p in params)


def test_style_draws_every_label_like_the_base_label_and_names_beside_keys():
    style = render_style("qid", "label_en", labels=["Country", "human", "KGCRun"])
    assert "caption: '{label_en} {qid}'" in style and "{uid}" not in style
    entity = style.split("node.Entity {")[1].split("}")[0]
    assert style.count(entity) == 3   # node.Entity, node.Country and node.human, not KGCRun again


def test_guide_and_style_are_served_with_cors():
    port = free_port()
    server = serve(port, background=True)
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/review.html", timeout=5) as r:
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
            assert b'<article class="guide">' in r.read()
        preflight = urllib.request.Request(f"http://localhost:{port}/review.html", method="OPTIONS",
                                           headers={"Origin": "http://127.0.0.1:7474",
                                                    "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "content-type"})
        with urllib.request.urlopen(preflight, timeout=5) as r:  # what Neo4j Browser sends first
            assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
            assert "content-type" in r.headers["Access-Control-Allow-Headers"]
        with urllib.request.urlopen(f"http://localhost:{port}/style.grass", timeout=5) as r:
            style = r.read().decode()
        assert "relationship.SUGGESTED" in style and "{caption}" in style
    finally:
        server.shutdown()
        server.server_close()
