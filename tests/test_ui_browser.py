"""The chat page in real headless Chromium (Debian's, driven by Playwright), as a user sees it.

One server per module, in this process, on a free loopback port with its own data folder.
Set QA_UPDATE_SCREENSHOT=1 to refresh docs/screenshot.png from the answer test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from qa import api
from index.settings import Settings

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM,
                                reason="Debian chromium not installed (scripts/test.sh installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_TITLE = "US President Donald Trump held"
SLOW = 30_000  # ms; first answers pay for model warm-up on a shared 2-core machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ui import serve
    # A 50 kB upload limit so the limit test needs no big file; test articles are tiny.
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui") / "data", seed_dir=SEEDS,
                        max_file_mb=0.05)
    api.open_store(settings)
    demo, url = serve.start(settings)
    yield url, settings
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(server, browser):
    """A fresh page on the app that records requests leaving the machine and any dialog."""
    url, _ = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 950})
    pg = ctx.new_page()
    pg.outside = []
    pg.dialogs = []
    pg.on("request", lambda r: pg.outside.append(r.url)
          if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:") else None)
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(url, wait_until="load")
    pg.wait_for_selector("#qa-question textarea", timeout=SLOW)
    pg.wait_for_selector(f"#qa-only label:has-text('{SEED_TITLE}')", timeout=SLOW)
    yield pg
    ctx.close()


def ask(pg, question: str):
    pg.fill("#qa-question textarea", question)
    n = pg.locator("#qa-chat .qa-msg").count()
    pg.click("#qa-send")
    pg.wait_for_function(f"document.querySelectorAll('#qa-chat .qa-msg').length > {n}", timeout=SLOW)
    return pg.locator("#qa-chat .qa-msg").last


def test_page_loads_with_seed_article_and_nothing_from_outside(page):
    assert page.title() == "qa-news: cited answers"
    assert page.locator("#qa-examples button").count() == 3
    assert page.locator("#qa-only label").count() == 1
    assert page.locator(f"#qa-only label:has-text('{SEED_TITLE}')").count() == 1
    assert page.locator("#qa-article-view .qa-empty").is_visible()
    assert page.outside == []


def test_example_question_streams_answer_with_highlighted_source(page, tmp_path):
    # Record whether a partial (streaming) message ever appeared before the final one.
    page.evaluate("""() => { window.__sawStreaming = false;
      new MutationObserver(() => { if (document.querySelector('#qa-chat .qa-streaming'))
        window.__sawStreaming = true; }).observe(document.body, {subtree: true, childList: true}); }""")
    page.get_by_role("button", name="How many prisoners were exchanged?").click()
    page.wait_for_selector("#qa-chat .qa-sources", timeout=SLOW)
    msg = page.locator("#qa-chat .qa-msg").last
    assert "175" in msg.locator(".qa-answer").inner_text()
    assert msg.locator(".qa-cite").first.inner_text() == "[1]"
    first_source = msg.locator(".qa-source").first.inner_text()
    assert "Each side released 175 prisoners of war." in first_source
    assert "paragraph" in first_source and "sentence" in first_source
    assert page.evaluate("window.__sawStreaming") is True
    focus = page.locator("#qa-article-view mark.qa-focus")
    focus.wait_for(timeout=SLOW)
    assert "Each side released 175 prisoners of war." in focus.inner_text()
    assert focus.locator("strong.qa-span").inner_text() == "175"
    assert SEED_TITLE in page.locator("#qa-article-view .qa-title").inner_text()
    playwright_api.expect(focus).to_be_in_viewport(timeout=5000)  # the view scrolled to it
    page.wait_for_timeout(600)  # let the smooth scroll settle before the screenshot
    shot = tmp_path / "screenshot.png"
    # Clipped above the upload box, whose label shows this module's test-sized limit.
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1400, "height": 905})
    assert shot.stat().st_size > 10_000
    if os.environ.get("QA_UPDATE_SCREENSHOT"):
        shutil.copy(shot, REPO / "docs" / "screenshot.png")
    assert page.outside == []


def test_clicking_an_earlier_answer_shows_its_source(page):
    ask(page, "How many prisoners were exchanged?").locator(".qa-sources").wait_for(timeout=SLOW)
    second = ask(page, "Who rejected a full 30-day ceasefire?")
    second.locator(".qa-sources").wait_for(timeout=SLOW)
    focus = "document.querySelector('#qa-article-view .qa-focus')"
    page.wait_for_function(f"{focus} && {focus}.innerText.includes('Putin rejected')", timeout=SLOW)
    page.locator("#qa-chat .qa-msg").first.locator(".qa-cite").first.click()
    page.wait_for_function("document.querySelector('#qa-article-view .qa-focus')"
                           " .innerText.includes('175 prisoners')", timeout=SLOW)
    assert page.locator("#qa-source-pick input:checked").input_value() == "1"
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_selector("#qa-article-view .qa-empty", timeout=SLOW)
    assert page.locator("#qa-chat .qa-msg").count() == 0
    # A new conversation starts numbering again: its first answer is turn 0.
    assert "qa-t-0" in ask(page, "How long did Trump's call with Zelensky last?").get_attribute("class")


def test_abstention_looks_different_and_cites_nothing(page):
    msg = ask(page, "What is the capital of France?")
    assert "qa-abstain" in msg.get_attribute("class")
    assert msg.locator(".qa-cite, .qa-source").count() == 0
    assert page.locator("#qa-article-view mark").count() == 0


FESTIVAL_Q = "How many visitors did the Quenby lantern festival draw?"


def test_uploaded_article_can_be_asked_about_and_removed(page, tmp_path):
    f = tmp_path / "festival.txt"
    f.write_text("Quenby lantern festival\n\nThe Quenby lantern festival drew 4812 visitors this "
                 "spring, organisers said.\nIt lasted three days.\n")
    page.locator("#qa-upload input[type=file]").set_input_files(str(f))
    page.click("#qa-add-files")
    page.wait_for_function("document.querySelector('#qa-status textarea').value.includes('Added')",
                           timeout=SLOW)
    page.wait_for_selector("#qa-only label:has-text('Quenby lantern festival')", timeout=SLOW)
    msg = ask(page, FESTIVAL_Q)
    msg.locator(".qa-sources").wait_for(timeout=SLOW)
    assert "4812" in msg.inner_text()
    # Restricting to the seed article must not find the festival.
    page.locator(f"#qa-only label:has-text('{SEED_TITLE}') input").check()
    assert "qa-abstain" in ask(page, FESTIVAL_Q).get_attribute("class")
    page.locator(f"#qa-only label:has-text('{SEED_TITLE}') input").uncheck()

    page.get_by_role("tab", name="Remove").click()
    page.locator("#qa-remove-pick input").click()
    page.get_by_role("option", name="Quenby lantern festival").click()
    page.click("#qa-remove")
    page.wait_for_function("document.querySelector('#qa-status textarea').value.includes('Removed')",
                           timeout=SLOW)
    page.wait_for_selector("#qa-only label:has-text('Quenby')", state="detached", timeout=SLOW)
    assert "qa-abstain" in ask(page, FESTIVAL_Q).get_attribute("class")


def test_upload_over_the_size_limit_is_refused_with_a_clear_message(page, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("The long report. " * 4000)  # 68 kB
    page.locator("#qa-upload input[type=file]").set_input_files(str(big))
    toast = page.locator("[data-testid='toast-body']")
    toast.wait_for(timeout=SLOW)
    assert "exceed the maximum allowed size" in toast.inner_text() and "big.txt" in toast.inner_text()
    assert "0.05 MB" in page.locator("#qa-upload").inner_text()
    page.click("#qa-add-files")
    page.wait_for_function("document.querySelector('#qa-status textarea').value != ''", timeout=SLOW)
    assert page.input_value("#qa-status textarea") == "Choose a file first."
    assert page.locator("#qa-only label").count() == 1


EVIL = ('<img src=x onerror="window.__pwned=1; alert(1)"> Evil <b>article</b> ${window.__pwned=2}')


def test_article_with_script_tags_renders_inert(page, server):
    _, settings = server
    page.get_by_role("tab", name="Paste").click()
    page.fill("#qa-paste-title textarea, #qa-paste-title input", EVIL)
    page.fill("#qa-paste-text textarea",
              "The Glimmer Tower <script>window.__pwned=3;alert(3)</script> is 312 metres tall. "
              "<img src=x onerror=\"window.__pwned=4\"> It opened in 1999. `${window.__pwned=5}`\n")
    page.click("#qa-add-text")
    page.wait_for_function("document.querySelector('#qa-status textarea').value.includes('Added')",
                           timeout=SLOW)
    question = "How tall is the Glimmer Tower <img src=x onerror=window.__pwned=6>? It's *#1* & `x`"
    msg = ask(page, question)
    msg.locator(".qa-sources").wait_for(timeout=SLOW)
    assert "<script>window.__pwned=3;alert(3)</script>" in msg.inner_text()
    assert page.locator("#qa-chat .qa-question").last.inner_text() == question  # shown verbatim
    view = page.locator("#qa-article-view")
    view.locator("mark.qa-focus").wait_for(timeout=SLOW)
    assert "<script>window.__pwned=3;alert(3)</script>" in view.inner_text()
    assert '<img src=x onerror="window.__pwned=1; alert(1)">' in view.locator(".qa-title").inner_text()
    assert "${window.__pwned=5}" in view.inner_text()
    assert view.locator("script, img").count() == 0
    assert page.locator("#qa-chat script, #qa-chat img[src=x]").count() == 0
    page.wait_for_timeout(300)  # give any injected handler time to fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    aid = next(a.id for a in api.list_articles(settings=settings) if "Evil" in a.title)
    api.remove(aid, settings=settings)


def test_backend_error_shows_a_short_message_and_the_page_keeps_working(page, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("database exploded\nTraceback (most recent call last): ...")
    monkeypatch.setattr(api, "ask", broken)
    msg = ask(page, "How many prisoners were exchanged?")
    text = page.locator("#qa-chat .qa-error").last.inner_text()
    assert "backend failed (RuntimeError)" in text
    assert "Traceback" not in page.locator("#qa-chat").inner_text()
    monkeypatch.undo()
    msg = ask(page, "How many prisoners were exchanged?")
    msg.locator(".qa-sources").wait_for(timeout=SLOW)
    assert "175" in msg.inner_text()


TOLLS = [{"title": "Bridge toll rises", "text": "The bridge toll rose to 4 euros in March.",
          "url": "https://www.harbourwire.example/toll-march", "published": "2025-03-12",
          "site": "Harbour Wire", "author": "Desk"},
         {"title": "Bridge toll set", "text": "The bridge toll was set at 3 euros in January.",
          "url": "https://gazette.example/toll-january", "published": "2025-01-08"}]


def test_filter_by_date_and_site_and_search_the_article_list(page, server, tmp_path):
    import json
    _, settings = server
    f = tmp_path / "tolls.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in TOLLS))
    added = api.ingest(str(f), settings=settings)
    try:
        page.reload(wait_until="load")
        page.wait_for_selector("#qa-only label:has-text('Bridge toll set')", timeout=SLOW)
        # the Articles panel: labels say where and when; the search box narrows the list
        assert page.locator("#qa-only label:has-text('Bridge toll rises — Harbour Wire, 12 March 2025')").count() == 1
        page.fill("#qa-article-search textarea, #qa-article-search input", "gazette")
        page.wait_for_selector("#qa-only label:has-text('Bridge toll rises')", state="detached", timeout=SLOW)
        assert page.locator("#qa-only label").all_inner_texts() == ["Bridge toll set — gazette.example, 8 January 2025"]
        page.fill("#qa-article-search textarea, #qa-article-search input", "")
        page.wait_for_selector(f"#qa-only label:has-text('{SEED_TITLE}')", timeout=SLOW)

        page.get_by_text("Filter by date and site").click()
        page.fill("#qa-since textarea, #qa-since input", "2025-03-01")
        msg = ask(page, "How much is the bridge toll?")
        msg.locator(".qa-sources").wait_for(timeout=SLOW)
        assert "4 euros" in msg.locator(".qa-answer").inner_text()
        assert "Harbour Wire, 12 March 2025" in msg.locator(".qa-source").first.inner_text()
        meta = page.locator("#qa-article-view .qa-meta")
        meta.wait_for(timeout=SLOW)
        assert "Harbour Wire, 12 March 2025, by Desk" in meta.inner_text()
        assert "https://www.harbourwire.example/toll-march" in meta.inner_text()

        page.fill("#qa-since textarea, #qa-since input", "")
        page.locator("#qa-sites input").click()
        page.get_by_role("option", name="gazette.example (1)").click()
        page.keyboard.press("Escape")
        msg = ask(page, "How much is the bridge toll?")
        msg.locator(".qa-sources").wait_for(timeout=SLOW)
        assert "3 euros" in msg.locator(".qa-answer").inner_text()

        page.fill("#qa-until textarea, #qa-until input", "2025-01-01")  # before the gazette's story
        msg = ask(page, "How much is the bridge toll?")
        assert "qa-abstain" in msg.get_attribute("class")
        assert "No article matches" in msg.inner_text()
        assert page.outside == []
    finally:
        for a in added:
            api.remove(a.id, settings=settings)
