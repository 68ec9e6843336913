"""Feeds on loopback: RSS 2.0, Atom and RDF, with full-content and link-only entries; polling
with validators (304) and new entries; XML bombs; the CLI's ingest --limit and follow. On both
catalogs (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc

import pytest

from index.feed_entries import FETCH_WORKERS
from index.types import QAError
from news_fixtures import Item, Story, atom, news_page, rdf, rss
from qa import api

pytestmark = pytest.mark.both_catalogs
TOWNS = ["Aldmere", "Brackwater", "Cinderford", "Dunholm", "Eastbrook", "Fallowby", "Greyhaven",
         "Hollins", "Ironbridge", "Juniper Bay"]


def story(i: int, town: str) -> Story:
    """A distinct story per town: its numbers differ, so no two are near-duplicates."""
    return Story(f"{town} opens a new library", [
        f"The town of {town} opened a new public library on Monday after {i + 2} years of building work.",
        f"The library holds {1000 + 137 * i} books and has {12 + i} computers for public use.",
        f"Mayor {town} Council leader Sam Reed said {40 + i} volunteers had helped to fill the shelves.",
        f"Opening hours in {town} run from 9 a.m. to {5 + i % 4} p.m. on weekdays and until noon on Saturdays.",
        f"The building cost {2 + i} million euros, paid for by the regional culture fund and a local appeal.",
        f"Children from {town} primary school were the first to borrow books, choosing {60 + i} titles in an hour.",
    ], published=f"2025-03-{10 + i:02d}T08:00:00+00:00", site="Regional Gazette",
        url=f"https://gazette.example/{town.lower().replace(' ', '-')}-library")


def full_html(s: Story) -> str:
    return "".join(f"<p>{p}</p>" for p in s.paras)


def rfc822(iso: str) -> str:
    from email.utils import format_datetime
    from datetime import datetime
    return format_datetime(datetime.fromisoformat(iso))




def serve_pages(news_server, stories, start=0, delay=0.0):
    return [news_server.add(f"/news/{i}.html", news_page(s), delay=delay) for i, s in enumerate(stories, start)]


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_full_content_and_link_only_entries(news_server, web_settings, kind):
    stories = [story(i, t) for i, t in enumerate(TOWNS[:4])]
    links = serve_pages(news_server, stories)
    items = [Item(s.title, link, rfc822(s.published) if kind == "rss" else s.published,
                  content=full_html(s) if i < 2 else "") for i, (s, link) in enumerate(zip(stories, links))]
    feed = news_server.add("/feed.xml", (rss if kind == "rss" else atom)("Regional Gazette: Local", items),
                      ctype="application/xml")
    arts = api.ingest(feed, settings=web_settings)
    assert [a.title for a in arts] == [s.title for s in stories]
    fetched = news_server.paths()
    assert "/news/0.html" not in fetched and "/news/1.html" not in fetched  # the feed carried them
    assert "/news/2.html" in fetched and "/news/3.html" in fetched
    for i, (a, s, link) in enumerate(zip(arts, stories, links)):
        assert a.text == s.body and a.published[:10] == s.published[:10] and link in a.urls
        # a fetched page names its site; for a carried entry the feed's title stands in
        assert a.site == ("Regional Gazette: Local" if i < 2 else "Regional Gazette")
    ans = api.ask("How many books does the Cinderford library hold?", settings=web_settings)
    assert "1274 books" in ans.citations[0].sentence and ans.citations[0].published.startswith("2025-03-12")


def test_rdf_feed_and_entry_fallbacks(news_server, web_settings):
    s = story(0, "Aldmere")
    bare = "<html><body><article>" + full_html(s) + "</article></body></html>"  # no title, no date
    link = news_server.add("/bare.html", bare)
    feed = news_server.add("/rdf", rdf("Aldmere Weekly", [Item("Aldmere library opens", link,
                                                          "2025-03-06T08:00:00+01:00")]),
                      ctype="application/rdf+xml")
    [a] = api.ingest(feed, settings=web_settings)
    assert a.text == s.body
    # the page says nothing of itself: the entry's title and date, and the page's host as site
    assert (a.title, a.published, a.site) == ("Aldmere library opens", "2025-03-06T08:00:00+01:00",
                                              "127.0.0.1")


def test_feed_recognised_by_content_whatever_its_type_or_name(news_server, web_settings, tmp_path):
    s = story(1, "Brackwater")
    body = rss("Gazette", [Item(s.title, "https://gazette.example/b", rfc822(s.published), full_html(s))])
    url = news_server.add("/latest", body, ctype="text/html")  # a site that mislabels its feed
    [a] = api.ingest(url, settings=web_settings)
    assert a.text == s.body
    f = tmp_path / "saved-feed.xml"
    f.write_text(body)
    assert [x.id for x in api.ingest(str(f), settings=web_settings)] == [a.id]  # same story, stored once


def test_limit_and_bounded_concurrency(news_server, web_settings):
    stories = [story(i, t) for i, t in enumerate(TOWNS)]
    links = serve_pages(news_server, stories, delay=0.3)
    items = [Item(s.title, link, rfc822(s.published)) for s, link in zip(stories, links)]
    feed = news_server.add("/feed", rss("Gazette", items), ctype="application/rss+xml")
    seen = []
    arts = api.ingest(feed, settings=web_settings, limit=3, on_entry=lambda d, n, t: seen.append((d, n)))
    assert len(arts) == 3 and seen == [(1, 3), (2, 3), (3, 3)]
    arts = api.ingest(feed, settings=web_settings)
    assert len(arts) == 10 and news_server.paths().count("/news/0.html") == 1  # known entries not refetched
    assert 1 < news_server.most_at_once <= FETCH_WORKERS  # several pages at once, never more than the bound


def test_follow_sends_validators_gets_304_then_only_the_new_entry(news_server, web_settings):
    stories = [story(i, t) for i, t in enumerate(TOWNS[:4])]
    links = serve_pages(news_server, stories)
    items = [Item(s.title, link, rfc822(s.published)) for s, link in zip(stories[:3], links)]
    feed = news_server.add("/feed", rss("Gazette", items), ctype="application/rss+xml", etag='"v1"')
    polls = []
    api.follow(feed, every=0.01, polls=2, settings=web_settings, on_poll=polls.append)
    first, second = polls
    assert first.status == "read" and len(first.added) == 3 and first.known == 0 and not first.failed
    assert second.status == "not modified" and second.added == ()
    feed_requests = [h for p, h in news_server.requests if p == "/feed"]
    assert "If-None-Match" not in feed_requests[0] and feed_requests[1]["If-None-Match"] == '"v1"'
    # one new entry: only its page is fetched
    news_server.add("/feed", rss("Gazette", [Item(stories[3].title, links[3], rfc822(stories[3].published))]
                            + items), ctype="application/rss+xml", etag='"v2"')
    before = len(news_server.requests)
    polls.clear()
    api.follow([feed], every=0.01, polls=1, settings=web_settings, on_poll=polls.append)
    [third] = polls
    assert third.status == "read" and [a.title for a in third.added] == [stories[3].title]
    assert third.known == 3
    assert [p for p, _ in news_server.requests[before:]] == ["/feed", "/news/3.html"]


def test_failed_entry_is_reported_and_retried_next_poll(news_server, web_settings):
    s = story(0, "Aldmere")
    link = news_server.base + "/later.html"
    feed = news_server.add("/feed", rss("Gazette", [Item(s.title, link, rfc822(s.published))]),
                      ctype="application/rss+xml", etag='"v1"')
    polls = []
    api.follow(feed, every=0.01, polls=1, settings=web_settings, on_poll=polls.append)
    assert polls[0].added == () and "HTTP 404" in polls[0].failed[0][1]
    news_server.add("/later.html", news_page(s))
    api.follow(feed, every=0.01, polls=1, settings=web_settings, on_poll=polls.append)
    assert [a.title for a in polls[1].added] == [s.title]  # not a 304: the validators were not kept


BOMB = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("bcdefgh", "cdefghi"))
        + ']><rss version="2.0"><channel><title>t</title><item><title>&i;</title>'
        '<link>https://x.example/a</link></item></channel></rss>')
XXE = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0">'
       '<channel><title>t</title><item><title>&x;</title><link>https://x.example/a</link></item>'
       '</channel></rss>')


@pytest.mark.parametrize("doc", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_entity_declarations_are_refused_in_bounded_time_and_memory(news_server, web_settings, doc):
    url = news_server.add("/bomb.xml", doc, ctype="application/rss+xml")
    tracemalloc.start()
    t0 = time.monotonic()
    with pytest.raises(QAError, match="declares XML entities") as e:
        api.ingest(url, settings=web_settings)
    took = time.monotonic() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert took < 2 and peak < 20e6, (took, peak)  # fully expanded, the bomb is 3 GB of "lol"
    assert "\n" not in str(e.value) and "root:" not in str(e.value)


def test_entry_cap_bounds_a_huge_feed(news_server, web_settings):
    capped = web_settings.with_(max_feed_entries=3)
    stories = [story(i, t) for i, t in enumerate(TOWNS[:5])]
    items = [Item(s.title, f"https://gazette.example/{i}", rfc822(s.published), full_html(s))
             for i, s in enumerate(stories)]
    arts = api.ingest(news_server.add("/big", rss("Gazette", items), ctype="application/rss+xml"),
                      settings=capped)
    assert [a.title for a in arts] == [s.title for s in stories[:3]]


def cli(args, data_dir, database_url="", **kw):
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "QA_SEED_DIR": "", "QA_ALLOW_PRIVATE_URLS": "1",
           "QA_DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "-m", "qa", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_ctrl_c_works, **kw)


def _ctrl_c_works() -> None:
    """In the child: a shell that runs the suite in the background (``bash .ci/run &``) starts
    it ignoring SIGINT, children inherit that, and Python then never raises KeyboardInterrupt;
    a user's terminal does not, so the child gets the default disposition back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_ingest_limit_and_follow_until_ctrl_c(news_server, web_settings, tmp_path):
    stories = [story(i, t) for i, t in enumerate(TOWNS[:3])]
    links = serve_pages(news_server, stories)
    feed = news_server.add("/feed", rss("Gazette", [Item(s.title, link, rfc822(s.published))
                                               for s, link in zip(stories, links)]),
                      ctype="application/rss+xml", etag='"v1"')
    db = web_settings.database_url
    out, err = cli(["ingest", feed, "--limit", "2", "--json"], tmp_path / "d", db).communicate(timeout=300)
    got = json.loads(out)
    assert [a["title"] for a in got["articles"]] == [s.title for s in stories[:2]], err
    assert got["articles"][0]["site"] == "Regional Gazette" and got["articles"][0]["published"]
    p = cli(["follow", feed, "--every", "1s"], tmp_path / "d", db)
    lines = []
    deadline = time.monotonic() + 120
    while len(lines) < 2 and time.monotonic() < deadline:  # two polls: one new entry, then 304
        lines.append(p.stdout.readline())
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "stopped following" in err and "Traceback" not in err, err
    assert f"  {feed}  1 new, 2 already stored (" in lines[0]  # one line per poll
    assert f"  {feed}  not modified (" in lines[1]
    assert len(api.list_articles(settings=web_settings.with_(data_dir=tmp_path / "d"))) == 3


def test_two_followers_of_one_feed_read_each_entry_once(news_server, web_settings):
    """Two processes following one feed on one catalog (replicas): one reads it while the other
    waits on the feed's lock, then finds it unchanged; no page is fetched or stored twice."""
    import threading
    from index.feed_poll import poll_feed
    from index.store import Store
    stories = [story(i, t) for i, t in enumerate(TOWNS[:6])]
    links = serve_pages(news_server, stories, delay=0.2)
    feed = news_server.add("/feed", rss("Gazette", [Item(s.title, link, rfc822(s.published))
                                               for s, link in zip(stories, links)]),
                      ctype="application/rss+xml", etag='"v1"')
    followers = [Store(web_settings), Store(web_settings)]  # two catalogs' connections, one catalog
    polls = [None, None]
    threads = [threading.Thread(target=lambda i=i: polls.__setitem__(i, poll_feed(followers[i], feed)))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted((p.status, len(p.added)) for p in polls) == [("not modified", 0), ("read", 6)]
    assert [news_server.paths().count(f"/news/{i}.html") for i in range(6)] == [1] * 6
    assert len(api.list_articles(settings=web_settings)) == 6
