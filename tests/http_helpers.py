"""Helpers shared by the HTTP API tests: a served data folder, an SSE reader, the checks."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

from index.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PRISONERS = "How many prisoners were exchanged?"
TOWNS = ["Aldmere", "Brackwater", "Cinderford", "Dunholm", "Eastbrook", "Fallowby"]


def seeded(tmp: Path, **settings) -> Settings:
    """Settings for a fresh data folder seeded with the seed article only."""
    seeds = tmp / "seeds"
    seeds.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, seeds / f.name)
    return Settings(data_dir=tmp / "data", seed_dir=seeds, **settings)


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


def check_citations(got: dict, settings: Settings) -> None:
    """Every cited sentence is exactly where it says, in an indexed article."""
    from qa import api
    for c in got["citations"]:
        assert api.get_article(c["article_id"], settings=settings).text[c["start"]:c["end"]] == c["sentence"]
