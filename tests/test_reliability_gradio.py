"""The chat server under load and odd input, through its Gradio API (``/ask``, gradio_client).

Issue 6, the chat-page part of "Crashes and concurrency": 16 users ask at once while articles
are uploaded. The server runs in this process (``ui.serve.start``) on a free loopback port with
its own data folder seeded from seeds/. The upload goes through the Articles panel's own
handler (``ui.articles.add_uploads``, what the page's "Add files" button runs, in the server's
process): the page's events are private, so gradio_client cannot call them.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from http_helpers import (CALL, PRISONERS, TOWNS, check_answer, check_citations, record_asks, seeded,
                          served, town_article, town_question)
from index.sentences import split_sentences
from index.store import article_id
from qa import api

gradio_client = pytest.importorskip("gradio_client")

HOLD = 4  # answers the server must serve while the upload is inside its write


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = seeded(tmp_path_factory.mktemp("gradio"))  # the seed article only
    with served(settings) as url:
        yield url, settings


def client(url: str):
    return gradio_client.Client(url, verbose=False)


def test_16_users_ask_through_the_api_while_articles_are_uploaded(server, tmp_path, monkeypatch):
    from ui import articles
    url, settings = server
    folder = tmp_path / "news"
    folder.mkdir()
    expected = {}
    for i, town in enumerate(TOWNS):
        text = town_article(i, town)
        (folder / f"{town.lower()}.txt").write_text(text)
        expected[article_id(text)] = len(split_sentences(text))
    before = {a.id for a in api.list_articles(settings=settings)}
    assert not before & set(expected)

    served = record_asks(monkeypatch)  # the page's endpoint calls qa.ask

    # The upload: the page's handler, with a progress callback that keeps the write open (its
    # vectors embedded, nothing committed yet) until the server has answered HOLD questions.
    window: dict[str, float] = {}
    uncommitted_listed: list[str] = []

    def progress(done: int, total: int) -> None:
        if "tick" in window:
            return
        window["tick"] = time.monotonic()
        deadline = window["tick"] + 120
        while sum(s >= window["tick"] for s, _ in served) < HOLD and time.monotonic() < deadline:
            time.sleep(0.05)
        # still inside the write: nothing of it may be listed yet
        uncommitted_listed.extend(c for _, c in articles.choices(settings) if c in expected)

    status: list[str] = []

    def upload() -> None:
        try:
            status.append(articles.add_uploads(sorted(map(str, folder.glob("*.txt"))), settings, progress))
        finally:
            window["end"] = time.monotonic()

    questions = [(PRISONERS, CALL, town_question(TOWNS[i % len(TOWNS)]))[i % 3] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        clients = list(pool.map(lambda _: client(url), range(16)))  # 16 users, each with a page open
        writer = threading.Thread(target=upload)
        writer.start()
        results = list(pool.map(lambda qc: _try(qc[1].predict, qc[0], api_name="/ask"),
                                zip(questions, clients)))
    writer.join(180)
    assert not writer.is_alive()

    failed = [(q, r) for q, r in zip(questions, results) if isinstance(r, Exception)]
    assert failed == []
    assert len(results) == 16 and all(isinstance(r, dict) for r in results)
    for q, r in zip(questions, results):
        check_answer(q, r, settings)
    during = [s for s, e in served if window["tick"] <= s and e <= window["end"]]
    assert len(during) >= HOLD, (window, served)  # the overlap really happened
    assert uncommitted_listed == []

    # After the upload: the page lists the new articles, each whole, and each answers.
    assert status and status[0].startswith(f"Added {len(TOWNS)} articles: ") and "Skipped" not in status[0], status
    listed = dict((i, t) for t, i in articles.choices(settings))
    assert set(listed) == before | set(expected)
    for aid, n in expected.items():
        assert len(api.get_article(aid, settings=settings).sentences) == n
    c = clients[0]
    for i, town in enumerate(TOWNS):
        got = c.predict(town_question(town), api_name="/ask")
        check_citations(got, settings)
        assert not got["abstained"] and f"{i * 7 + 3} bridges" in got["citations"][0]["sentence"], got
        assert got["citations"][0]["article_id"] in expected


def _try(fn, *a, **k):
    try:
        return fn(*a, **k)
    except Exception as e:  # collected and reported together
        return e


ODD = {
    "script": "<script>alert('x')</script><b>How many prisoners</b> were <i>released</i>?",
    "html-only": '<img src=x onerror="alert(1)"><iframe src="javascript:alert(2)"></iframe>',
    "long": "How many prisoners were released? " * 3000,  # ~100,000 characters
}


@pytest.mark.parametrize("name", list(ODD))
def test_html_script_and_100k_questions_are_answered_or_abstained(server, name):
    url, settings = server
    c = client(url)
    question = ODD[name]
    assert name != "long" or len(question) >= 100_000
    got = c.predict(question, api_name="/ask")
    assert isinstance(got, dict) and (got["abstained"] or got["citations"])
    assert len(got["question"]) <= api.MAX_QUESTION_CHARS
    check_citations(got, settings)
    for cite in got["citations"]:
        assert "<script" not in cite["sentence"] and "onerror" not in cite["sentence"]
    if name == "script":  # the words in it are still a question with an answer
        assert not got["abstained"] and "175" in got["citations"][0]["sentence"], got["text"]
    # the server is still fine: the page loads and a plain question is answered
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
    after = c.predict(PRISONERS, api_name="/ask")
    assert "175" in after["citations"][0]["sentence"]
