"""One story, stored once: a syndicated copy (same text, or over 90% the same sentences) adds
its URL to the stored article; answers never cite two copies of one sentence. On both catalogs
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from news_fixtures import Story, news_page
from qa import api

pytestmark = pytest.mark.both_catalogs

SENTENCES = [f"Sentence {w} of the wire story says the port moved {100 + i} containers on day {i + 1}."
             for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve "
                                   "thirteen fourteen fifteen sixteen seventeen eighteen nineteen "
                                   "twenty".split())]




def test_same_story_on_two_sites_is_stored_once_with_both_urls(news_server, web_settings):
    story = Story("Port moves record container volume", [" ".join(SENTENCES[:10]), " ".join(SENTENCES[10:])])
    first = news_server.add("/gazette/port", news_page(story))
    second = news_server.add("/post/port", news_page(Story(story.title, story.paras, site="Daily Post",
                                                       url="https://dailypost.example/port")))
    [a] = api.ingest(first, settings=web_settings)
    [b] = api.ingest(second, settings=web_settings)
    assert a.id == b.id and len(api.list_articles(settings=web_settings)) == 1
    stored = api.get_article(a.id, settings=web_settings)
    assert {first, second, story.url, "https://dailypost.example/port"} <= set(stored.urls)
    assert stored.site == "The Lowmoor Gazette"  # the first copy's metadata stays


def test_near_identical_copy_is_the_same_story(tmp_path, web_settings):
    edited = SENTENCES[:5] + ["Sentence six of the wire story says the port moved 105 boxes on day 6."] \
        + SENTENCES[6:] + ["This story was first published by Harbour Wire."]
    other = [s.replace("wire story", "feature") for s in SENTENCES]  # different sentences
    f = tmp_path / "copies.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"title": "Port record", "text": " ".join(SENTENCES), "url": "https://harbourwire.example/port"},
        {"title": "Port record (copy)", "text": " ".join(edited), "url": "https://gazette.example/port"},
        {"title": "Port feature", "text": " ".join(other), "url": "https://metro.example/port"}]))
    arts = api.ingest(str(f), settings=web_settings)
    assert [a.title for a in arts] == ["Port record", "Port feature"]
    assert set(arts[0].urls) == {"https://harbourwire.example/port", "https://gazette.example/port"}
    # a later copy, in another ingest, finds the stored story too
    g = tmp_path / "later.json"
    g.write_text(json.dumps({"title": "Port again", "text": " ".join(edited[::-1][1:] + edited[-1:]),
                             "url": "https://third.example/port"}))
    [again] = api.ingest(str(g), settings=web_settings)
    assert again.id == arts[0].id and "https://third.example/port" in again.urls


def test_answers_never_cite_two_copies_of_one_sentence(tmp_path, web_settings):
    shared = "The lighthouse keeper counted 214 ships passing the cape in February."
    f = tmp_path / "two.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"title": "Cape report", "text": f"{shared} Storms closed the harbour twice. Fishing boats stayed in port."},
        {"title": "Coast diary", "text": f"The coastguard opened a new station. {shared} Tourists returned in spring."}]))
    assert len(api.ingest(str(f), settings=web_settings)) == 2  # one shared sentence is not one story
    ans = api.ask("How many ships did the lighthouse keeper count passing the cape?", settings=web_settings)
    assert ans.citations[0].sentence == shared
    assert [c.sentence for c in ans.citations].count(shared) == 1
