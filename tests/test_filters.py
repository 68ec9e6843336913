"""Date and site filters: in Python, on the command line, inside retrieval (not after it), and
on a data folder made before the filters existed. On both catalogs (SQLite and PostgreSQL),
except the upgrade of a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from index.settings import Settings
from index.types import QAError
from index.upgrade import SCHEMA_VERSION
from qa import api

QUESTION = "How many passengers did the ferry carry?"
RECORDS = [
    {"title": "Ferry record in March", "text": "The harbour ferry carried 120 passengers on Wednesday.",
     "url": "https://www.reuters.com/world/ferry-march", "published": "2025-03-19T10:00:00Z",
     "site": "Reuters"},
    {"title": "Ferry busy in February", "text": "The harbour ferry carried 340 passengers on Monday.",
     "url": "https://apnews.com/article/ferry-february", "published": "2025-02-10", "site": "AP News"},
    {"title": "Ferry quiet in January", "text": "The harbour ferry carried 75 passengers on Sunday.",
     "url": "https://uk.reuters.com/ferry-january", "published": "Sun, 05 Jan 2025 09:00:00 GMT"},
    {"title": "Ferry, undated", "text": "The harbour ferry carried 500 passengers that day."},
]


pytestmark = pytest.mark.both_catalogs


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def settings(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("filters")
    url = request.getfixturevalue("pg_cluster").new_database() if request.param == "postgres" else ""
    s = Settings(data_dir=d / "data", seed_dir=None, database_url=url)
    (d / "ferries.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS))
    api.ingest(str(d / "ferries.jsonl"), settings=s)
    return s


def number(answer) -> str:
    assert not answer.abstained, answer
    return next(w for w in answer.citations[0].sentence.split() if w.isdigit())


@pytest.mark.parametrize("filters,expected", [
    ({}, None),
    ({"since": "2025-03-01"}, "120"),  # the undated article is outside any date range
    ({"until": "2025-01-31"}, "75"),
    ({"since": "2025-02-01", "until": "2025-02-28"}, "340"),
    ({"sites": ["apnews.com"]}, "340"),
    ({"sites": ["https://www.apnews.com/"]}, "340"),
    ({"sites": ["reuters.com"], "until": "2025-02-28"}, "75"),  # reuters.com covers uk.reuters.com
    ({"sites": ["Reuters"], "since": "2025-03-01"}, "120"),  # a site's name works too
    ({"sites": ["uk.reuters.com"]}, "75"),
    ({"since": "2025-03-19", "until": "2025-03-19"}, "120"),  # both ends are inclusive
])
def test_filters_in_python(settings, filters, expected):
    ans = api.ask(QUESTION, settings=settings, **filters)
    if expected is None:
        assert len({c.article_id for c in ans.citations}) >= 1
        return
    assert number(ans) == expected
    c = ans.citations[0]
    if "since" in filters:
        assert c.published[:10] >= filters["since"]
    if "until" in filters:
        assert c.published[:10] <= filters["until"]


def test_nothing_matching_is_an_answer_that_says_so(settings):
    ans = api.ask(QUESTION, settings=settings, sites=["bbc.co.uk"])
    assert ans.abstained and ans.citations == () and "No article matches site bbc.co.uk" in ans.notice
    ans = api.ask(QUESTION, settings=settings, since="2026-01-01")
    assert ans.abstained and "2026-01-01" in ans.notice


@pytest.mark.parametrize("filters,match", [
    ({"since": "19/03/2025"}, "not a date; write it as YYYY-MM-DD"),
    ({"until": "2025-02-30"}, "not a date"),
    ({"since": "2025-03-31", "until": "2025-03-01"}, "is after until"),
])
def test_bad_dates_are_one_line_errors(settings, filters, match):
    with pytest.raises(QAError, match=match) as e:
        api.ask(QUESTION, settings=settings, **filters)
    assert "\n" not in str(e.value)


def test_filtering_happens_inside_retrieval(empty_settings, tmp_path):
    """80 undated articles answer the question better than the one dated article: none of the
    top 40 of either search is from it. Filtering those results afterwards would find nothing;
    filtering inside both searches finds it."""
    s = empty_settings
    f = tmp_path / "many.jsonl"
    decoys = [{"title": "Ferry passengers", "text": f"The ferry carried {1000 + i} passengers."}
              for i in range(80)]
    target = {"title": "Island news", "text": "The island ferry carried 42 passengers on Sunday after "
              "the storm had passed over the bay.", "published": "2025-03-19",
              "url": "https://islandnews.example/link"}
    f.write_text("\n".join(json.dumps(r) for r in decoys + [target]))
    api.ingest(str(f), settings=s)
    store = api.open_store(s)
    aid = store.catalog.id_for_url(target["url"])
    from index.catalog import query_terms
    assert aid not in {a for a, _, _ in store.vectors.search(store.embedder.embed_query(QUESTION), 40)}
    assert aid not in {a for a, _, _ in store.catalog.bm25(query_terms(QUESTION), 40)}
    for filters in ({"since": "2025-03-01"}, {"sites": ["islandnews.example"]}):
        ans = api.ask(QUESTION, settings=s, **filters)
        assert "42 passengers" in ans.citations[0].sentence, filters


def test_cli_filters(settings):
    env = {**os.environ, "QA_DATA_DIR": str(settings.data_dir), "QA_SEED_DIR": "",
           "QA_DATABASE_URL": settings.database_url}
    r = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--since", "2025-01-01",
                        "--until", "2025-02-28", "--site", "reuters.com", "--json"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)["citations"][0]
    assert "75 passengers" in c["sentence"] and c["url"] == "https://uk.reuters.com/ferry-january"
    assert c["published"] == "2025-01-05T09:00:00+00:00" and c["site"] == "uk.reuters.com"
    r = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--site", "apnews.com"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert "[1] Ferry busy in February — AP News, 10 February 2025 (paragraph 1" in r.stdout
    assert "    https://apnews.com/article/ferry-february" in r.stdout
    r = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--since", "March"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1 and r.stderr.strip() == (
        "qa: error: since 'March' is not a date; write it as YYYY-MM-DD, e.g. 2025-03-01.")
    r = subprocess.run([sys.executable, "-m", "qa", "list"], capture_output=True, text=True, env=env,
                       timeout=300)
    titles = [line.split("sentences  ", 1)[1] for line in r.stdout.splitlines()]
    assert titles == ["Ferry record in March — Reuters", "Ferry busy in February — AP News",
                      "Ferry quiet in January — uk.reuters.com", "Ferry, undated"]  # newest first


def test_http_filters(settings):
    """/api/v1/ask and /v1/chat/completions take the same filters as qa.ask."""
    import httpx
    from http_helpers import served
    with served(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        def ask(**filters):
            r = http.post("api/v1/ask", json={"question": QUESTION, **filters})
            return r.status_code, r.json()
        status, got = ask(since="2025-01-01", until="2025-02-28", sites=["reuters.com"])
        assert status == 200 and "75 passengers" in got["citations"][0]["sentence"]
        assert got["citations"][0]["published"].startswith("2025-01-05")
        status, got = ask(sites=["AP News"])
        assert "340 passengers" in got["citations"][0]["sentence"]
        status, got = ask(since="2026-01-01")
        assert status == 200 and got["abstained"] and got["citations"] == []
        status, got = ask(since="19/03/2025")
        assert status == 400 and "not a date; write it as YYYY-MM-DD" in got["error"]
        r = http.post("v1/chat/completions", json={"model": "qa-news", "since": "2025-03-01",
                                                   "messages": [{"role": "user", "content": QUESTION}]})
        assert r.status_code == 200 and "120 passengers" in r.json()["choices"][0]["message"]["content"]


def test_data_folder_from_before_the_filters_is_upgraded(tmp_path):
    """A folder written by the previous version: no day/site columns, no URL table, no sentence
    keys, vectors without day/site metadata. Opening it upgrades it without embedding again."""
    s = Settings(data_dir=tmp_path / "data", seed_dir=None)
    f = tmp_path / "ferries.jsonl"
    f.write_text("\n".join(json.dumps({k: v for k, v in r.items() if k != "site"}) for r in RECORDS))
    api.ingest(str(f), settings=s)
    store = api.open_store(s)
    ids = [a.id for a in store.list_articles()]
    _downgrade(store)
    api.close_store(s)
    store = api.open_store(s)
    assert store.catalog.get_meta("schema") == SCHEMA_VERSION and store.catalog.get_meta("vector_fields") == "1"
    assert number(api.ask(QUESTION, settings=s, since="2025-03-01")) == "120"
    assert number(api.ask(QUESTION, settings=s, sites=["reuters.com"], until="2025-02-01")) == "75"
    assert sorted(a.id for a in store.list_articles()) == sorted(ids)
    jan = store.get_article(store.catalog.id_for_url("https://uk.reuters.com/ferry-january"))
    assert jan.published == "2025-01-05T09:00:00+00:00"  # the RFC 822 date stored before, normalised


def _downgrade(store) -> None:
    db = store.catalog.db
    for index in ("sentences_by_key", "articles_day", "articles_site"):
        db.execute(f"drop index {index}")
    for table, column in (("articles", "site"), ("articles", "author"), ("articles", "day"),
                          ("articles", "site_key"), ("sentences", "key")):
        db.execute(f"alter table {table} drop column {column}")
    db.execute("drop table article_urls")
    db.execute("drop table feeds")
    db.execute("delete from meta where key in ('schema', 'vector_fields')")
    # the previous version stored the JSON record's date as written
    db.execute("update articles set published='Sun, 05 Jan 2025 09:00:00 GMT' where published like '2025-01-05%'")
    coll = store.vectors._coll
    got = coll.get(include=[])
    coll.update(ids=got["ids"], metadatas=[{"day": None, "site": None}] * len(got["ids"]))
    assert all("day" not in m for m in coll.get(include=["metadatas"])["metadatas"])
