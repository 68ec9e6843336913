"""The chat turn as a plain generator: ``respond`` streams one answer and never raises.

Kept free of gradio so it can be tested without a browser. ``qa.ask`` runs in a worker thread
(``ui.answering.stream_answer``): a generative backend streams real tokens; the extractive
answer (computed at once, no tokens) is then streamed word by word so both modes look the same
on the page.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from index.settings import Settings
from index.types import Answer, QAError
from ui import render
from ui.answering import stream_answer

log = logging.getLogger("qa.ui")
CHUNK_WORDS = 3  # words per streamed step: fast enough to read as it comes, few server round-trips
PACE = 0.03  # seconds between steps of an already computed answer


@dataclass(frozen=True)
class Turn:
    """One question and its outcome; ``answer`` is None while streaming or after an error."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    partial: str = ""


def messages(turns: list[Turn]) -> list[dict]:
    """Chatbot messages (gradio 'messages' format) for these turns, all text escaped."""
    out = []
    for i, t in enumerate(turns):
        out.append({"role": "user", "content": render.question_html(t.question)})
        if t.answer is not None:
            body = render.answer_html(t.answer, i)
        elif t.error is not None:
            body = render.error_html(t.error)
        else:
            body = render.partial_html(t.partial)
        out.append({"role": "assistant", "content": body})
    return out


def history_for(turns: list[Turn]) -> list[tuple[str, str]]:
    """Earlier answered turns as (question, answer) pairs, the shape qa.ask reads follow-ups from."""
    return [(t.question, t.answer.text) for t in turns if t.answer is not None]


def respond(question: str, turns: list[Turn], article_ids: list[str] | None = None, *,
            settings: Settings | None = None, ask: Callable[..., Answer] | None = None,
            pace: float = PACE, since: str | None = None, until: str | None = None,
            sites: list[str] | None = None) -> Iterator[list[Turn]]:
    """Yield the growing list of turns while ``question`` is answered; the last one is final.

    An empty ``article_ids`` means all articles; ``since``/``until``/``sites`` filter by
    publication day and site (empty: no filter). Errors end the turn with a one-line message
    (details go to the server log), so the conversation can go on.
    """
    if ask is None:
        from qa import api
        ask = api.ask
    turns = list(turns or [])
    if not (question or "").strip():
        return
    answer: Answer | None = None
    partial = ""
    yield turns + [Turn(question)]
    try:  # generative mode: show tokens as they arrive, several per step
        for item in stream_answer(ask, question, history=history_for(turns),
                                  article_ids=article_ids or None,
                                  since=(since or "").strip() or None,
                                  until=(until or "").strip() or None, sites=sites or None,
                                  settings=settings):
            if isinstance(item, str):
                partial += item
                yield turns + [Turn(question, partial=partial)]
            else:
                answer = item
    except QAError as e:
        yield turns + [Turn(question, error=str(e))]
        return
    except Exception as e:  # the edge: the page shows a line, the log keeps the traceback
        log.error("answering %r failed", question, exc_info=e)
        yield turns + [Turn(question, error=(f"The answering backend failed ({type(e).__name__}); "
                                             "try again, or ask something else."))]
        return
    if not partial:  # extractive: the answer exists already; reveal it a few words at a time
        words = answer.text.split(" ")
        for i in range(CHUNK_WORDS, len(words), CHUNK_WORDS):
            yield turns + [Turn(question, partial=" ".join(words[:i]))]
            time.sleep(pace)
    yield turns + [Turn(question, answer=answer)]
