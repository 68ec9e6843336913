"""OpenAI-compatible chat: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Point any OpenAI client or chat front-end at ``http://HOST:PORT/v1`` and model ``qa-news``: the
last user message is the question, the earlier user and assistant messages are its history.
The reply's text is the answer with its ``[n]`` markers, then a Sources list; the structured
citations (``Citation.to_dict()``, marker n is ``citations[n-1]``) ride along in the extra
top-level field ``citations``, on the last chunk when streaming.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from index.settings import Settings
from index.types import Answer, NotFoundError, QAError
from ui.answering import Slots, stream_answer
from ui.http import bearer, error_body, started, unknown_path
from ui.render import origin, position, story_label
from ui.schemas import ChatMessage, ChatRequest, OpenAIError

MODEL = "qa-news"
PREFIX = "/v1"
_CREATED = int(time.time())
ERRORS = {401: {"model": OpenAIError, "description": "Missing or wrong bearer token."}}
ASK_ERRORS = {
    400: {"model": OpenAIError, "description": "Bad request: no user message last, a bad option."},
    404: {"model": OpenAIError, "description": "Unknown model, or an unknown article id."},
    413: {"model": OpenAIError, "description": "The body is over the size limit."},
    503: {"model": OpenAIError, "description": "The index is down or still opening."}}
log = logging.getLogger("qa.http")


def reply_text(answer: Answer) -> str:
    """The answer as chat text: the answer, the notice (if any), then a Markdown list of sources."""
    parts = [answer.text]
    if answer.notice:
        parts.append(f"({answer.notice})")
    if answer.story:
        parts.append(f"(Story: {story_label(answer.story)})")
    if answer.citations:
        parts.append("Sources:\n" + "\n".join(
            f"- [{n}] {'(earlier) ' if c.earlier else ''}{c.title}"
            f"{' — ' + o if (o := origin(c.site, c.published)) else ''} ({position(c)}): “{c.sentence}”"
            for n, c in enumerate(answer.citations, 1)))
    return "\n\n".join(parts)


def answer_only(text: str) -> str:
    """An earlier reply of ours without its notice and sources (history needs the answer only)."""
    cut = [i for i in (text.find("\n\n("), text.find("\n\nSources:\n")) if i >= 0]
    return text[:min(cut)] if cut else text


def conversation(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """(question, history) from chat messages; system messages are not turns."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise QAError('the last message must be the question, with role "user".')
    history = [{"role": m.role, "content": m.text() if m.role == "user" else answer_only(m.text())}
               for m in turns[:-1]]
    return turns[-1].text(), history


def router(settings: Settings, slots: Slots, token: str = "") -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["OpenAI-compatible"], responses=ERRORS if token else {},
                  dependencies=[Depends(bearer(token))] if token else [])

    @r.get("/models", summary="The one model served: qa-news")
    def models() -> dict:
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": _CREATED,
                                            "owned_by": "qa-news"}]}

    @r.post("/chat/completions", responses=ASK_ERRORS,
            summary="Answer the last user message, citing sentences (OpenAI chat completions)")
    def complete(req: ChatRequest):
        if req.model != MODEL:
            raise NotFoundError(f"no model {req.model!r} here; use {MODEL!r} (GET /v1/models).")
        question, history = conversation(req.messages)
        kwargs = dict(history=history, settings=settings, **req.ask_kwargs())
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": MODEL}
        if not req.stream:
            answer = slots.ask(question, **kwargs)
            return JSONResponse({**head, "object": "chat.completion", "choices": [{
                "index": 0, "message": {"role": "assistant", "content": reply_text(answer)},
                "finish_reason": "stop", "logprobs": None}],
                "citations": [c.to_dict() for c in answer.citations]})
        items = started(stream_answer(slots.ask, question, **kwargs))
        return StreamingResponse(chunks(head, items), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    unknown_path(r, PREFIX)
    return r


def chunks(head: dict, items: Iterator[str | Answer]) -> Iterator[str]:
    """``chat.completion.chunk`` events: the verified text as it comes, then the sources, then
    a last chunk with ``finish_reason`` and ``citations``, then ``[DONE]``."""
    def event(delta: dict, finish: str | None = None, **extra) -> str:
        body = {**head, "object": "chat.completion.chunk", **extra,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    shown = ""
    try:
        for item in items:
            if isinstance(item, str):
                shown += item
                yield event({"content": item})
                continue
            full = reply_text(item)
            # What streamed is the answer's start, unless the answer changed after streaming
            # (the model failed midway and the extractive answer replaced it): then add it whole.
            rest = full[len(shown):] if full.startswith(shown) else "\n\n" + full
            if rest:
                yield event({"content": rest})
            yield event({}, "stop", citations=[c.to_dict() for c in item.citations])
    except QAError as e:
        yield error_event(str(e), 400)
    except Exception as e:
        log.error("streaming a chat completion failed", exc_info=e)
        yield error_event(f"answering failed ({type(e).__name__}); see the server log.", 500)
    yield "data: [DONE]\n\n"


def error_event(message: str, status: int) -> str:
    return f"data: {json.dumps(error_body(PREFIX + '/', message, status))}\n\n"
