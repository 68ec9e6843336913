"""Ingest: formats, stable ids, no-op re-ingest, replacement of changed files, removal.
On both catalogs (SQLite and PostgreSQL)."""

import json

import pytest

from qa import api

pytestmark = pytest.mark.both_catalogs


def _counts(settings):
    store = api.open_store(settings, seed=False)
    c = store.catalog
    return c.count(), sum(c.sentence_counts().values()), c.lexical_count(), store.vectors.count()


def test_same_content_is_noop_and_changed_file_replaces(empty_settings, tmp_path):
    f = tmp_path / "story.txt"
    f.write_text("Harbour news\nThe ferry carried 120 passengers on Sunday. It arrived late.\n")
    a1 = api.ingest([str(f)], settings=empty_settings)
    before = _counts(empty_settings)
    assert before == (1, 3, 3, 3)
    assert api.ingest([str(f)], settings=empty_settings)[0].id == a1[0].id
    assert _counts(empty_settings) == before
    f.write_text("Harbour news\nThe ferry carried 140 passengers on Sunday.\n")
    a2 = api.ingest([str(f)], settings=empty_settings)
    assert a2[0].id != a1[0].id
    assert [a.id for a in api.list_articles(settings=empty_settings)] == [a2[0].id]
    assert _counts(empty_settings) == (1, 2, 2, 2)
    ans = api.ask("How many passengers did the ferry carry?", settings=empty_settings)
    assert "140" in ans.citations[0].sentence
    api.remove(a2[0].id, settings=empty_settings)
    assert _counts(empty_settings) == (0, 0, 0, 0)


def test_html_json_jsonl_and_folder(empty_settings, tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "page.html").write_text(
        "<html><head><title>Bridge reopens</title><script>var menu = 'Home News';</script></head>"
        "<body><nav>Home | Sport | Weather</nav><article><h1>Bridge reopens</h1>"
        "<p>The old bridge reopened on Tuesday after two years of repairs costing 8 million euros.</p>"
        "<p>Traffic is expected to return to normal by May.</p></article><footer>Contact us</footer></body></html>")
    (d / "sub" / "batch.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"title": "Rain record", "text": "Rainfall reached 90 mm on Monday, a record.", "url": "https://x.test/rain"},
        {"title": "Museum", "text": "The museum welcomed 5,000 visitors at its opening.", "published": "2025-03-01"}]))
    (d / "one.json").write_text(json.dumps({"title": "Chess", "text": "The chess final lasted six hours."}))
    (d / "notes.md").write_text("# Library hours\n\nThe library now opens at 8 a.m. on weekdays.\n")
    arts = api.ingest([str(d)], settings=empty_settings)
    by_title = {a.title: a for a in arts}
    assert set(by_title) == {"Bridge reopens", "Rain record", "Museum", "Chess", "Library hours"}
    page = by_title["Bridge reopens"]
    assert "Home | Sport" not in page.text and "var menu" not in page.text and "Contact us" not in page.text
    assert "8 million euros" in page.text
    assert by_title["Rain record"].url == "https://x.test/rain"
    assert by_title["Museum"].published == "2025-03-01"
    for a in arts:
        full = api.get_article(a.id, settings=empty_settings)
        assert full.sentences and all(full.text[s.start:s.end] == s.text for s in full.sentences)
    ans = api.ask("How much did the bridge repairs cost?", settings=empty_settings)
    assert "8 million euros" in ans.citations[0].sentence


def test_ingesting_the_seed_folder_is_the_automatic_seeding(empty_settings, seeded_settings):
    from conftest import SEEDS
    arts = api.ingest([str(SEEDS)], settings=empty_settings)
    assert len(arts) == 1 and arts[0].id == api.list_articles(settings=seeded_settings)[0].id
    q = "How many prisoners were exchanged?"
    assert api.ask(q, settings=empty_settings) == api.ask(q, settings=seeded_settings)
