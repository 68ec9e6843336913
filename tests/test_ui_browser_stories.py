"""Developing stories on the chat page in headless Chromium: a timeline answer as a dated list,
a disagreement with each source's value, and the Articles panel's story labels.
Set QA_UPDATE_SCREENSHOT=1 to refresh docs/screenshot-timeline.png and
docs/screenshot-disagreement.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.settings import Settings
from qa import api
from story_fixtures import RECORDS
from test_ui_browser import CHROMIUM, FLAGS, SLOW, ask

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM,
                                reason="Debian chromium not installed (scripts/test.sh installs it)")
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from ui import serve
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-stories") / "data", seed_dir=None)
    api.ingest(RECORDS, settings=settings)
    demo, url = serve.start(settings)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1200})
        pg.goto(url, wait_until="load")
        pg.wait_for_selector("#qa-question textarea", timeout=SLOW)
        yield pg
        browser.close()
    demo.close()


def _shot(pg, msg, name: str) -> None:
    if os.environ.get("QA_UPDATE_SCREENSHOT"):
        msg.evaluate("e => e.scrollIntoView({block: 'start'})")  # the answer's first line on top
        pg.screenshot(path=str(DOCS / name))


def test_articles_panel_shows_stories(page):
    labels = page.locator("#qa-only label")
    page.wait_for_function("document.querySelectorAll('#qa-only label').length >= 7", timeout=SLOW)
    texts = [labels.nth(i).inner_text() for i in range(labels.count())]
    assert sum("story: 4 articles, 2-6 May 2025" in t for t in texts) == 4


def test_timeline_on_the_page(page):
    msg = ask(page, "What has happened in the Carrow mill fire so far?")
    items = msg.locator("ol.qa-timeline li")
    assert items.count() >= 4
    first, last = items.first.inner_text(), items.last.inner_text()
    assert first.startswith("2 May 2025 (Northfield Post):") and last.startswith("6 May 2025 (Northfield Post):")
    assert "Story: Fire at Carrow flour mill kills two workers: 4 articles, 2-6 May 2025" in msg.inner_text()
    _shot(page, msg, "screenshot-timeline.png")


def test_disagreement_on_the_page(page):
    msg = ask(page, "How many people were injured in the Carrow mill fire?")
    box = msg.locator(".qa-disagree")
    assert box.count() == 1
    text = box.inner_text()
    assert "Valley Times" in text and "40" in text and "Harbor Gazette" in text and "45" in text
    _shot(page, msg, "screenshot-disagreement.png")
