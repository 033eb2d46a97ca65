"""Neo4j Browser driven by a real headless Chromium: what the guide test and the screenshot
script use to do what an analyst does (connect, play the guide, click a block, run it).

Needs the ``playwright`` package (the ``test`` extra) and a Chromium on the machine (Debian's
``chromium``; ``scripts/test-deps.sh`` installs it). Playwright only drives that browser:
it never downloads one.

Example:
    >>> with NeoBrowser(server.browser_url, server.bolt_uri, "neo4j", password) as nb:   # doctest: +SKIP
    ...     nb.play("http://localhost:8001/review.html")
    ...     frame = nb.run_block(nb.slide_blocks()[0])
    ...     frame.error                                   # None when it ran
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgcomplete.errors import KGCompleteError

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000
EDITOR_POLLS = 300   # looks at the editor at most this many times, 0.1 s apart, after clicking a block


def chromium_path() -> str:
    """The system Chromium (``KGC_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH)."""
    found = os.environ.get("KGC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise KGCompleteError("no Chromium found: install Debian's 'chromium' (scripts/test-deps.sh) or set KGC_CHROMIUM")
    return found


@dataclass
class Frame:
    """One result frame of Browser's stream, as the analyst sees it."""

    command: str
    text: str
    error: str | None
    nodes: int | None           # how many nodes and relationships a graph view draws (None: no graph)
    relationships: int | None
    locator: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None


class NeoBrowser:
    """One headless Chromium with a fresh profile, connected to Neo4j Browser at ``browser_url``."""

    def __init__(self, browser_url: str, bolt_uri: str, user: str, password: str, *,
                 width: int = 1400, height: int = 1000) -> None:
        self.browser_url, self.bolt_uri, self.user, self._password = browser_url, bolt_uri, user, password
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="kgc-chromium-")

    def __enter__(self) -> NeoBrowser:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._context = self._pw.chromium.launch_persistent_context(
            self._profile, executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": self.width, "height": self.height})
        self._context.set_default_timeout(TIMEOUT_MS)
        self.page = self._context.new_page()
        self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.close()
        self._pw.stop()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _connect(self) -> None:
        page = self.page
        page.goto(self.browser_url)
        page.locator("input[data-testid=username]").fill(self.user)
        page.locator("input[data-testid=password]").fill(self._password)
        page.locator("button[data-testid=connect]").click()
        page.get_by_text("You are connected as user").first.wait_for()
        self.run(":config maxFrames: 500")   # keep the guide's frame while the test runs its blocks
        for banner in page.locator("[data-testid=main] button[aria-label='close']").all():  # the usage-statistics note
            banner.click()

    # ------------------------------------------------------------------ running
    def _frames(self) -> Any:
        return self.page.locator("[data-testid=stream] > article, [data-testid=stream] [data-testid=frame]")

    def run(self, command: str) -> Frame:
        """Type a one-line ``command`` into the editor and run it, as an analyst would."""
        editor = self.page.locator("[data-testid=activeEditor] textarea").first
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(command)
        return self._submit(command)

    def run_block(self, block: Any) -> Frame:
        """Click a runnable block of the guide (it fills the editor) and run what the editor
        holds; raises ``AssertionError`` if the click left the editor empty or what ran is not
        exactly the block's text."""
        text = block.inner_text().strip()
        block.click()
        for _ in range(EDITOR_POLLS):   # Browser fills the editor on its next render, later on a busy machine
            if self.editor_text().strip():
                break
            self.page.wait_for_timeout(100)
        else:
            raise AssertionError(f"clicking the block left the editor empty: {text!r}")
        frame = self._submit(text)
        ran = frame.locator.locator("[data-testid=frameCommand]").inner_text()
        if _squash(ran) != _squash(text):
            raise AssertionError(f"the block {text!r} filled the editor with {ran!r}")
        return frame

    def editor_text(self) -> str:
        """The editor's visible lines (Monaco draws only those in view)."""
        lines = self.page.locator("[data-testid=activeEditor] .view-line").all_inner_texts()
        return "\n".join(lines).replace("\u00a0", " ")

    def _submit(self, command: str) -> Frame:
        frames = self.page.locator("[data-testid=frame]")
        before = frames.count()
        self.page.locator("[data-testid=editor-Run]").click()
        self.page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=frame]').length > n", arg=before)
        frame = frames.first  # the newest frame is on top
        frame.locator("[data-testid=frame-loaded-contents], [data-testid=rawParamData], "
                      "[data-testid=cypherFrameErrorMessage], [data-testid=carousel], [data-testid=frameContents] pre"
                      ).first.wait_for()
        if frame.locator("[data-testid=cypherFrameSidebarVisualization]").count():
            frame.locator("[data-testid=vizInspector]").wait_for()
        return self._read(command, frame)

    def _read(self, command: str, frame: Any) -> Frame:
        error = None
        err = frame.locator("[data-testid=cypherFrameErrorMessage]")
        if err.count():
            error = err.first.inner_text().strip()
        text = frame.inner_text()
        if error is None and command.startswith(":param") and "Successfully set your parameters" not in text:
            error = text.strip()   # Browser reports a :param it could not evaluate in the frame's text
        nodes = rels = None
        if frame.locator("[data-testid=vizInspector]").count():
            nodes = _overview_total(frame, "node-label")
            rels = _overview_total(frame, "relationship-type")
        return Frame(command, text, error, nodes, rels, frame)

    def drawn_types(self, frame: Frame) -> dict[str, int]:
        """Relationships drawn in a graph view, by type (the view's overview: ``type (count)``)."""
        out = {}
        for chip in frame.locator.locator("[data-testid^=property-details-overview-relationship-type-]").all():
            m = re.fullmatch(r"(.+) \((\d+)\)", chip.inner_text().strip())
            if m and m.group(1) != "*":
                out[m.group(1)] = int(m.group(2))
        return out

    # ------------------------------------------------------------------ guides
    def play(self, url: str) -> Frame:
        frame = self.run(f":play {url}")
        frame.locator.locator("[data-testid=carousel]").wait_for()
        self.guide = frame.locator.element_handle()   # a handle: newer frames go on top
        return frame

    def slide_count(self) -> int:
        m = re.search(r"(\d+)\s*/\s*(\d+)", self.guide.query_selector("[data-testid=carousel]").inner_text())
        return int(m.group(2)) if m else 1

    def slide_blocks(self) -> list[Any]:
        """The runnable blocks of the guide's current slide, top to bottom."""
        return self.guide.query_selector_all("[data-testid=carousel] pre.runnable:visible")

    def next_slide(self) -> None:
        self.guide.query_selector("[data-testid=nextSlide]").click()

    def screenshot(self, path: str | Path, frame: Frame | None = None) -> None:
        target = frame.locator if frame is not None else self.page
        target.screenshot(path=str(path))


def _overview_total(frame: Any, kind: str) -> int | None:
    """The ``* (N)`` chip of a graph view's overview: how many nodes or relationships it draws."""
    chip = frame.locator(f"[data-testid='property-details-overview-{kind}-*']")
    m = re.search(r"\((\d+)\)", chip.first.inner_text()) if chip.count() else None
    return int(m.group(1)) if m else None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
