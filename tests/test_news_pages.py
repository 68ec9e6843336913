"""News pages fetched from loopback: the article without the clutter, and what the page says
about it (title, date, site, author, canonical URL), including a page whose article exists only
in its JSON-LD."""

from __future__ import annotations

import json

import pytest

from index.types import QAError
from news_fixtures import Story, news_page
from qa import api

BRIDGE = Story("Lowmoor harbour bridge reopens after two years", [
    "The harbour bridge in Lowmoor reopened to traffic on Tuesday, two years after cracks in its "
    "deck forced the council to close it.",
    "Engineers replaced 140 steel cables at a cost of 12 million euros, a third more than planned.",
    "The first vehicle across was a school bus carrying 38 pupils from Eastbank.",
    "Traffic is expected to return to normal by May, when the temporary ferry stops running."])
STADIUM = Story("Council approves new 30,000-seat stadium", [
    "The city council voted 31 to 12 on Tuesday night to approve a new stadium for Valmont Rovers.",
    "The club will pay for the stadium itself, at an estimated 210 million euros.",
    "Construction is due to start next year."],
    published="2025-03-18T19:45:00+01:00", site="Metro Live", author="Chris Albers",
    url="https://metrolive.example/sport/stadium")
CLUTTER = ["cookies", "Subscribe", "Related stories", "Ferry timetable", "About time too",
           "Coastal Media", "morning briefing", "track(", "Photo: staff", "By Ann Lee"]




def test_cluttered_page_gives_the_article_and_its_metadata(news_server, web_settings):
    url = news_server.add("/local/bridge.html", news_page(BRIDGE))
    [a] = api.ingest(url, settings=web_settings)
    paras = a.text.split("\n\n")
    assert [p for p in paras if p in BRIDGE.paras] == BRIDGE.paras  # all of it, paragraphs kept
    # the one residue trafilatura leaves: an inline "Read more" link line inside the article
    assert [p for p in paras if p not in BRIDGE.paras] in ([], ["Read more: Council sets budget"])
    for junk in CLUTTER:
        assert junk not in a.text
    assert (a.title, a.published, a.site, a.author) == (
        BRIDGE.title, "2025-03-04T09:30:00+00:00", "The Lowmoor Gazette", "Ann Lee")
    assert a.url == BRIDGE.url and url in a.urls  # canonical URL, and where it was fetched from
    assert len({s.paragraph for s in a.sentences}) == len(paras)
    ans = api.ask("How many steel cables were replaced?", settings=web_settings)
    c = ans.citations[0]
    assert "140 steel cables" in c.sentence
    assert (c.site, c.published, c.author, c.url) == ("The Lowmoor Gazette", a.published, "Ann Lee",
                                                      BRIDGE.url)


def test_article_only_in_json_ld_is_not_refused(news_server, web_settings):
    url = news_server.add("/app/stadium", news_page(STADIUM, visible=False))
    [a] = api.ingest(url, settings=web_settings)
    assert a.text == STADIUM.body and "Loading" not in a.text and "JavaScript" not in a.text
    assert (a.title, a.published, a.site) == (STADIUM.title, "2025-03-18T19:45:00+01:00", "Metro Live")


def test_saved_page_file_keeps_its_canonical_url(tmp_path, web_settings):
    f = tmp_path / "bridge.html"
    f.write_text(news_page(BRIDGE), encoding="utf-8")
    [a] = api.ingest(str(f), settings=web_settings)
    assert a.url == BRIDGE.url and a.site == "The Lowmoor Gazette" and a.source == str(f)


def test_page_with_no_article_anywhere_is_refused_in_one_line(news_server, web_settings):
    url = news_server.add("/empty", "<html><head><title>x</title><script>app()</script></head>"
                               "<body><div id=root></div></body></html>")
    with pytest.raises(QAError, match="no readable text") as e:
        api.ingest(url, settings=web_settings)
    assert "\n" not in str(e.value)


def test_json_records_carry_metadata_and_refuse_a_bad_date(tmp_path, web_settings):
    f = tmp_path / "batch.jsonl"
    f.write_text(json.dumps({"title": "Rain record", "text": "Rainfall reached 90 mm on Monday.",
                             "url": "https://x.example/rain", "published": "Tue, 04 Mar 2025 09:30:00 GMT",
                             "site": "X News", "author": "Desk"}) + "\n")
    [a] = api.ingest(str(f), settings=web_settings)
    assert (a.published, a.site, a.author) == ("2025-03-04T09:30:00+00:00", "X News", "Desk")
    f.write_text(json.dumps({"title": "T", "text": "Some text.", "published": "last Tuesday"}))
    with pytest.raises(QAError, match=r"record 1: \"published\" 'last Tuesday' is not a date"):
        api.ingest(str(f), settings=web_settings)
