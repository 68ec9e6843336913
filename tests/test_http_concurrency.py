"""Answers in parallel over HTTP: 16 asks while an article is being added, and generative answers
overlapping (at most QA_CONCURRENCY at once) through the API and the page, which share the cap.

How fast is bench/http_api.py's job; here what matters is that every answer is right, that the
overlap really happens, and that the cap holds.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from http_helpers import (CALL, PRISONERS, TOWNS, check_answer, record_asks, seeded, served,
                          town_article, town_question)
from index.store import article_id
from qa import api
from scripted_llm import as_openai_server, numbered

gradio_client = pytest.importorskip("gradio_client")
HOLD = 4  # answers the server must give while the new articles are inside their write
SEED_SENTENCE = "Each side released 175 prisoners of war."


def test_16_concurrent_asks_while_an_article_is_added(tmp_path, monkeypatch):
    settings = seeded(tmp_path)
    with served(settings) as url:  # `qa chat`: the page and the APIs
        store = api.open_store(settings)
        expected = {article_id(town_article(i, t)): t for i, t in enumerate(TOWNS)}

        served_at = record_asks(monkeypatch)

        # Keep the write open (vectors written, nothing committed) until HOLD answers were given.
        window: dict[str, float] = {}
        listed_early: list[str] = []
        real_write = store._write_batch

        def holding_write(batch, tick):
            window["start"] = time.monotonic()
            deadline = window["start"] + 120
            while sum(s >= window["start"] for s, _ in served_at) < HOLD and time.monotonic() < deadline:
                time.sleep(0.05)
            listed_early.extend(a.id for a in api.list_articles(settings=settings) if a.id in expected)
            return real_write(batch, tick)
        monkeypatch.setattr(store, "_write_batch", holding_write)

        added: list[httpx.Response] = []

        def add() -> None:
            records = [{"title": f"{t} bridges", "text": town_article(i, t)} for i, t in enumerate(TOWNS)]
            try:
                added.append(httpx.post(url + "api/v1/articles", json={"records": records}, timeout=180))
            finally:
                window["end"] = time.monotonic()

        questions = [(PRISONERS, CALL, town_question(TOWNS[i % len(TOWNS)]))[i % 3] for i in range(16)]
        writer = threading.Thread(target=add)
        writer.start()
        while "start" not in window and writer.is_alive():
            time.sleep(0.02)
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda q: httpx.post(url + "api/v1/ask", json={"question": q},
                                                         timeout=120), questions))
        writer.join(180)
        assert not writer.is_alive()

        assert [r.status_code for r in results] == [200] * 16, [r.text for r in results]
        for q, r in zip(questions, results):
            check_answer(q, r.json(), settings)
        during = [s for s, e in served_at if window["start"] <= s and e <= window["end"]]
        assert len(during) >= HOLD, (window, served_at)  # the overlap really happened
        assert listed_early == []  # nothing of the write was visible before it committed

        assert added[0].status_code == 201, added[0].text
        assert {a["id"] for a in added[0].json()["articles"]} == set(expected)
        for i, town in enumerate(TOWNS):  # after the write: each new article answers
            got = httpx.post(url + "api/v1/ask", json={"question": town_question(town)}, timeout=60).json()
            assert got["citations"][0]["article_id"] in expected
            assert f"{i * 7 + 3} bridges" in got["citations"][0]["sentence"], got


@pytest.fixture
def slow_model(monkeypatch):
    """The scripted model server taking 0.5 s a reply, and always citing the right sentence."""
    s = as_openai_server(monkeypatch, delay=0.5)
    s.replies = [lambda b: f"Each side released 175 prisoners of war [{numbered(b, SEED_SENTENCE)}]."]
    yield s
    s.close()


def test_generative_answers_overlap_up_to_qa_concurrency_in_the_api_and_the_page(tmp_path, slow_model):
    settings = seeded(tmp_path, concurrency=4, llm="openai")
    with served(settings) as url:
        def via_api(_):
            return httpx.post(url + "api/v1/ask", json={"question": PRISONERS}, timeout=120).json()

        page = gradio_client.Client(url, verbose=False)

        def via_page(_):  # the page's own queue, through its /ask endpoint
            return page.predict(PRISONERS, api_name="/ask")

        for name, asks in (("api", [via_api] * 8), ("page", [via_page] * 8),
                           ("both", [via_api, via_page] * 4)):
            slow_model.most_in_flight = 0
            before = len(slow_model.requests)
            with ThreadPoolExecutor(8) as pool:
                got = list(pool.map(lambda f: f(None), asks))
            assert len(slow_model.requests) - before == 8, name  # one model call per answer
            assert slow_model.most_in_flight == 4, name  # they overlapped, and no more than 4 at once
            for g in got:
                assert g["mode"] == "generative", g
                assert g["text"] == "Each side released 175 prisoners of war [1].", g
                assert g["citations"][0]["sentence"] == SEED_SENTENCE
