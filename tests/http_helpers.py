"""Helpers shared by the tests that talk to a server over HTTP (the JSON API, the OpenAI-
compatible chat, the page's /ask): a served data folder, an SSE reader, questions whose answers
are known, and the checks."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

from index.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PRISONERS = "How many prisoners were exchanged?"
CALL = "How long did the call with Zelensky last?"
TOWNS = ["Aldmere", "Brackwater", "Cinderford", "Dunholm", "Eastbrook", "Fallowby"]


def seeded(tmp: Path, **settings) -> Settings:
    """Settings for a fresh data folder seeded from seeds/ (the seed article)."""
    return Settings(data_dir=tmp / "data", seed_dir=SEEDS, **settings)


@contextmanager
def served(settings: Settings, **kw):
    """``ui.serve.start`` on a free loopback port, the index opened first; yields the base url."""
    from qa import api
    from ui import serve
    api.open_store(settings)
    server, url = serve.start(settings, **kw)
    try:
        yield url
    finally:
        server.close()
        api.close_store(settings)


def sse_events(text: str) -> list[tuple[str, object]]:
    """(event name, decoded JSON data) for each event of a text/event-stream body."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            joined = "\n".join(data)
            out.append((name, joined if joined == "[DONE]" else json.loads(joined)))
    return out


def town_article(i: int, town: str) -> str:
    return (f"{town} council votes on new bridges\n\n"
            f"The town of {town} now has {i * 7 + 3} bridges after a vote on Monday.\n"
            f"The council of {town} approved a budget of {i + 2} million euros.\n"
            f"Work in {town} starts in spring and ends in {2030 + i}.\n")


def town_question(town: str) -> str:
    return f"How many bridges does {town} have?"


def check_citations(got: dict, settings: Settings) -> None:
    """Every cited sentence is exactly where it says, in an article the index lists."""
    from qa import api
    listed = {a.id for a in api.list_articles(settings=settings)}
    for c in got["citations"]:
        assert c["article_id"] in listed
        assert api.get_article(c["article_id"], settings=settings).text[c["start"]:c["end"]] == c["sentence"]


def check_answer(question: str, got: dict, settings: Settings) -> None:
    """The right answer to PRISONERS, CALL or a town question (whose article may be mid-write)."""
    check_citations(got, settings)
    if question == PRISONERS:
        assert not got["abstained"] and "175" in got["citations"][0]["sentence"], got["text"]
    elif question == CALL:
        assert not got["abstained"] and "about an hour" in got["citations"][0]["sentence"], got["text"]
    else:  # a new article: not yet committed (abstain or cite elsewhere) or cited correctly
        town = question.split()[-2]
        first = got["citations"][0]["sentence"] if got["citations"] else ""
        if not got["abstained"] and town in first:
            assert f"{TOWNS.index(town) * 7 + 3} bridges" in first, first


def record_asks(monkeypatch) -> list[tuple[float, float]]:
    """When the server answered each question: (start, end) of every ``qa.ask`` call from now."""
    import qa
    served: list[tuple[float, float]] = []
    real_ask = qa.ask

    def timed_ask(*a, **k):
        t0 = time.monotonic()
        try:
            return real_ask(*a, **k)
        finally:
            served.append((t0, time.monotonic()))
    monkeypatch.setattr(qa, "ask", timed_ask)
    return served
