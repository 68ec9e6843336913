"""Developing stories: grouping at ingest, latest first, as-of, disagreements, timelines, and
their surfaces (qa.ask data, CLI, /api/v1, /v1/chat/completions, the page's HTML)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from index.settings import Settings
from index.stories import Profile, group, split
from index.types import NotFoundError
from qa import api
from story_fixtures import MILL, OTHER, RECORDS

TODAY = "2025-05-07"


# --- grouping on its own (index.stories), with vectors made for the test ---

def _profile(aid: str, day: int | None, direction: int, names: str = "", **kw) -> Profile:
    v = np.zeros(8, np.float32)
    v[direction] = 1.0
    return Profile(aid, day, v, frozenset(names.split()), **kw)


def test_group_joins_similar_close_articles_and_keeps_others_apart():
    new = [_profile("a1", 20250301, 0, "carrow mill"), _profile("a2", 20250303, 0, "carrow mill"),
           _profile("b1", 20250302, 1, "lenby"),
           _profile("a3", 20250420, 0, "carrow mill"),  # same words, seven weeks later
           _profile("u1", None, 0, "carrow mill")]  # undated: a story of its own
    got = group(new, []).assigned
    assert got["a1"] == got["a2"] != got["b1"]
    assert got["a3"] not in (got["a1"], got["b1"]) and got["u1"] not in (got["a1"], got["a3"])


def test_group_merges_two_stories_an_article_bridges():
    v = np.array([1, 1, 0, 0, 0, 0, 0, 0], np.float32) / np.sqrt(2)  # between the two directions
    known = [_profile("a1", 20250301, 0, story_id="sA"), _profile("b1", 20250301, 1, story_id="sB")]
    bridge = Profile("c1", 20250302, v, frozenset())
    out = group([bridge], known)
    assert set(out.merged.items()) in ({("sB", "sA")}, {("sA", "sB")})
    # ...unless one of them holds an article a person placed there
    known[1].pinned = True
    assert group([Profile("c2", 20250302, v, frozenset())], known).merged == {}


def test_split_after_a_removal():
    left = [_profile("a1", 20250301, 0), _profile("a2", 20250302, 0), _profile("b1", 20250302, 1)]
    parts = split(left)
    assert sorted(sorted(p.article_id for p in part) for part in parts) == [["a1", "a2"], ["b1"]]


# --- end to end, on the fixture stories ---

@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    s = Settings(data_dir=tmp_path_factory.mktemp("stories") / "data", seed_dir=None)
    IDS.update({a.url or a.title: a.id for a in api.ingest(RECORDS, settings=s)})
    return s


IDS: dict[str, str] = {}  # the fixture's articles: url (or title) -> id


def _id(settings, record) -> str:
    return IDS[record.get("url") or record["title"]]


def test_ingest_groups_the_mill_fire(settings):
    of = api.stories_of(list(IDS.values()), settings=settings)
    mill = {of[_id(settings, r)].id for r in MILL}
    assert len(mill) == 1
    story = of[_id(settings, MILL[0])]
    assert (story.articles, story.first, story.last, story.title) == (4, "2025-05-02", "2025-05-06", MILL[0]["title"])
    assert all(_id(settings, r) not in of for r in OTHER)  # each a story of its own


def test_latest_value_first_with_as_of(settings):
    a = api.ask("How many people have died in the Carrow mill fire?", settings=settings, today=TODAY)
    assert a.citations[0].article_id == _id(settings, MILL[3]) and "five" in a.citations[0].sentence
    assert a.text.startswith("As of 6 May 2025 (Northfield Post): ") and a.as_of == "2025-05-06"
    assert a.story is not None and a.story.articles == 4
    assert all(c.earlier for c in a.citations[1:]) and not a.citations[0].earlier
    assert all(c.published < "2025-05-06" for c in a.citations[1:])
    d = a.to_dict()
    assert d["as_of"] == "2025-05-06" and d["story"]["articles"] == 4 and d["timeline"] is False


def test_as_of_a_date(settings):
    a = api.ask("How many people had died in the Carrow mill fire by 4 May?", settings=settings, today=TODAY)
    assert a.until == "2025-05-04" and a.as_of == "2025-05-03"
    assert all(c.published <= "2025-05-04" for c in a.citations)
    assert "four" in a.citations[0].sentence.lower()
    # "last week" counts from today: the week of 28 April - 4 May
    b = api.ask("How many people had died in the Carrow mill fire last week?", settings=settings,
                today="2025-05-07")
    assert b.until == "2025-05-04" and "four" in b.citations[0].sentence.lower()


def test_an_explicit_today_leaves_out_later_articles(settings):
    # asked on 4 May, the story's 6 May article did not exist yet: the newest value is 3 May's
    a = api.ask("How many people have died in the Carrow mill fire?", settings=settings, today="2025-05-04")
    assert a.as_of == "2025-05-03" and "four" in a.citations[0].sentence.lower()
    assert a.until is None  # the question names no period of its own


def test_a_sentence_recalling_an_earlier_figure_looks_back():
    from qa.developing import looks_back
    assert looks_back("The service had initially reported 27 injured, but more came in overnight.")
    assert looks_back("The group had originally asked for 2.5 million euros.")
    assert not looks_back("The death toll has risen to five, up from four on Saturday.")
    assert not looks_back("Three people are still missing, down from eight, after two were first reported found.")
    assert not looks_back("The regional hospital said 45 people were injured.")


def test_same_day_disagreement_shows_both_sources(settings):
    a = api.ask("How many people were injured in the Carrow mill fire?", settings=settings, today=TODAY)
    assert len(a.disagreements) == 1
    claims = {c.site: c.value for c in a.disagreements[0].claims}
    assert claims == {"Valley Times": "40", "Harbor Gazette": "45"}
    for c in a.disagreements[0].claims:  # each claim points at its own citation
        assert c.value in a.citations[c.citation - 1].sentence and a.citations[c.citation - 1].site == c.site
    assert "the sources disagree" in a.text and "Valley Times: 40" in a.text and "Harbor Gazette: 45" in a.text


def test_a_rising_toll_is_not_a_disagreement(settings):
    a = api.ask("How many people have died in the Carrow mill fire?", settings=settings, today=TODAY)
    assert a.disagreements == ()


def test_timeline(settings):
    a = api.ask("What has happened in the Carrow mill fire so far?", settings=settings, today=TODAY)
    mill = {_id(settings, r) for r in MILL}
    assert a.timeline and not a.abstained
    assert {c.article_id for c in a.citations} == mill  # every article of the story, nothing else
    days = [c.published for c in a.citations]
    assert days == sorted(days) and len(a.citations) <= 8
    lines = a.text.split("\n")
    assert lines[0].startswith("Timeline of “Fire at Carrow flour mill kills two workers” (4 articles, 2-6 May 2025)")
    assert lines[1].startswith("- 2 May 2025 (Northfield Post): ") and lines[1].endswith("[1]")


def test_single_article_questions_are_unchanged(settings):
    a = api.ask("How much will the Carrow bus depot cost?", settings=settings, today=TODAY)
    assert a.text == "The depot will cost 18 million euros and open in 2027. [1]"
    assert a.story is None and a.as_of is None and not a.timeline


@pytest.mark.both_catalogs
def test_move_article_out_and_back(tmp_path, database_url):
    s = Settings(data_dir=tmp_path / "data", seed_dir=None, database_url=database_url)
    arts = api.ingest(MILL, settings=s)
    # grouped at ingest, in either catalog, and answered from the newest article
    a = api.ask("How many people have died in the Carrow mill fire?", settings=s, today=TODAY)
    assert a.citations[0].article_id == arts[3].id and a.text.startswith("As of 6 May 2025 (Northfield Post): ")
    assert [x.articles for x in api.stories(settings=s)] == [4]
    sid = api.stories_of([arts[0].id], settings=s)[arts[0].id].id
    moved = api.move_article(arts[2].id, settings=s)
    assert moved.id != sid and moved.articles == 1
    assert api.story(sid, settings=s)[0].articles == 3
    # a later article like it does not undo the move by merging the stories
    api.ingest([{**MILL[2], "url": MILL[2]["url"] + "-update", "published": "2025-05-04",
                 "text": MILL[2]["text"].replace("45 people", "46 people")}], settings=s)
    assert api.open_store(s).catalog.stories_of([arts[2].id])[arts[2].id] == moved.id
    back = api.move_article(arts[2].id, sid, settings=s)
    assert back.id == sid and [a.id for a in api.story(sid, settings=s)[1]][:1] == [arts[0].id]
    with pytest.raises(NotFoundError):
        api.move_article(arts[2].id, "s-no-such-story", settings=s)
    with pytest.raises(NotFoundError):
        api.story("s-no-such-story", settings=s)


@pytest.mark.both_catalogs
def test_removing_the_bridge_splits_the_story(tmp_path, database_url):
    s = Settings(data_dir=tmp_path / "data", seed_dir=None, database_url=database_url)
    arts = api.ingest(MILL, settings=s)
    store = api.open_store(s)
    before = store.catalog.stories_of([a.id for a in arts])
    api.remove(arts[1].id, settings=s)
    after = store.catalog.stories_of([a.id for a in arts])
    assert arts[1].id not in after and set(after) == {a.id for a in arts} - {arts[1].id}
    # what is left still reads as one story here; split keeps linked articles together
    assert len(set(after.values())) == len(split(store.catalog.story_members(before[arts[0].id])))


def test_old_data_folder_gets_stories(tmp_path):
    """A folder written before stories existed: its articles are grouped when it is opened,
    from the vectors already in Chroma (nothing is embedded again)."""
    s = Settings(data_dir=tmp_path / "data", seed_dir=None)
    arts = api.ingest(MILL, settings=s)
    api.close_store(s)
    db = sqlite3.connect(tmp_path / "data" / "catalog.sqlite3")
    db.execute("drop table article_stories")
    db.execute("update meta set value='2' where key='schema'")
    db.execute("delete from meta where key='stories'")
    db.commit()
    db.close()
    of = api.stories_of([a.id for a in arts], settings=s)
    assert len({st.id for st in of.values()}) == 1 and len(of) == 4
    api.close_store(s)


# --- surfaces ---

def test_cli_story_commands(settings, capsys):
    from qa.cli import main
    env = ["--data-dir", str(settings.data_dir)]
    assert main([*env, "story", "list"]) == 0
    out = capsys.readouterr().out
    assert "Fire at Carrow flour mill kills two workers: 4 articles, 2-6 May 2025 (s" in out
    sid = out.rsplit("(", 1)[1].strip().rstrip(")")
    assert main([*env, "story", "show", sid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [a["published"] for a in shown["articles"]] == sorted(r["published"] for r in MILL)
    assert main([*env, "list"]) == 0
    assert f"story {sid}: 4 articles, 2-6 May 2025" in capsys.readouterr().out
    assert main([*env, "ask", "How many people have died in the Carrow mill fire?", "--today", TODAY]) == 0
    out = capsys.readouterr().out
    assert out.startswith("As of 6 May 2025 (Northfield Post): ") and "[2] (earlier) " in out
    assert main([*env, "story", "show", "s-nothing"]) == 1
    assert "no story with id 's-nothing'" in capsys.readouterr().err
    assert main([*env, "ask", "How many died?", "--today", "May 7"]) == 1
    assert "today 'May 7' is not a date" in capsys.readouterr().err


@pytest.fixture(scope="module")
def client(settings):
    from fastapi.testclient import TestClient
    from ui.serve import build_app
    with TestClient(build_app(settings, page=False)) as c:
        yield c


def test_http_ask_and_stories(client):
    r = client.post("/api/v1/ask", json={"question": "How many people were injured in the Carrow mill fire?",
                                        "today": TODAY})
    assert r.status_code == 200
    body = r.json()
    assert body["disagreements"][0]["claims"][0]["site"] in ("Valley Times", "Harbor Gazette")
    assert body["story"]["articles"] == 4 and body["as_of"] == "2025-05-03"
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert {"as_of", "disagreements", "timeline", "story", "since", "until"} <= set(schema["Answer"]["properties"])
    assert "today" in schema["AskRequest"]["properties"]
    listed = client.get("/api/v1/stories").json()["stories"]
    assert [s["articles"] for s in listed] == [4]
    one = client.get(f"/api/v1/stories/{listed[0]['id']}").json()
    assert len(one["articles"]) == 4 and one["story"]["first"] == "2025-05-02"
    assert client.get("/api/v1/stories/nope").status_code == 404
    assert client.post("/api/v1/stories/move", json={"article_id": "nope"}).status_code == 404


def test_openai_reply_shows_dates(client):
    r = client.post("/v1/chat/completions", json={
        "model": "qa-news", "today": TODAY,
        "messages": [{"role": "user", "content": "How many people have died in the Carrow mill fire?"}]})
    text = r.json()["choices"][0]["message"]["content"]
    assert text.startswith("As of 6 May 2025 (Northfield Post): ")
    assert "(Story: Fire at Carrow flour mill kills two workers: 4 articles, 2-6 May 2025)" in text
    assert "— Northfield Post, 6 May 2025" in text


def test_page_html_for_timeline_and_disagreement(settings):
    from ui.render import answer_html
    t = api.ask("What has happened in the Carrow mill fire so far?", settings=settings, today=TODAY)
    html = answer_html(t, 1)
    assert html.count("<li>") == len(t.citations) and '<ol class="qa-timeline">' in html
    d = api.ask("How many people were injured in the Carrow mill fire?", settings=settings, today=TODAY)
    html = answer_html(d, 2)
    assert 'class="qa-disagree"' in html and "<b>Valley Times</b>" in html and "<b>Harbor Gazette</b>" in html


def test_articles_panel_label(settings):
    from ui.articles import choices
    labels = [label for label, _ in choices(settings)]
    assert sum("· story: 4 articles, 2-6 May 2025" in x for x in labels) == 4
    assert any(x.startswith("Carrow council approves new bus depot — Valley Times, 4 May 2025") and "story" not in x
               for x in labels)


def test_generative_prompt_has_dates_and_sites(settings):
    from qa.generative import SYSTEM, build_messages
    from qa.retrieve import Candidate
    c = Candidate("a", 0, "Carrow mill fire death toll reaches five", 0, 10, 0, "The toll rose to five.",
                  published="2025-05-06", site="Northfield Post")
    user = build_messages("How many died?", [c], tag="src-1f2e")[1]["content"]
    assert "Article: Carrow mill fire death toll reaches five (Northfield Post, 6 May 2025)" in user
    assert "newest" in SYSTEM and "each value with its source" in SYSTEM
