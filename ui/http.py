"""The JSON API for programs, under ``/api/v1``: ask (JSON or Server-Sent Events) and articles.

Routes call ``qa``'s public functions and nothing deeper. Every error is JSON ``{"error": one
line}`` with its status: 400 bad input, 401 missing or wrong token, 404 unknown id or path,
413 body too large, 503 index down or busy (``QAError`` kinds map to these in ``status_of``);
anything unexpected is a 500 whose line names the error type, the traceback stays in the log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
from typing import Callable, Iterator

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

import qa
from index.settings import Settings
from index.types import Answer, Article, NotFoundError, QAError, UnavailableError
from ui.answering import Slots, stream_answer
from ui.ops import count_ingested, mark_error
from ui.schemas import (AddArticles, AddedArticles, ArticlePage, AskRequest, ErrorReply, MoveArticle,
                        StoryDetail, StoryPage)

PREFIX = "/api/v1"
DOCS = PREFIX + "/docs"
# A question is cut at 2,000 characters; 1 MB leaves room for a long conversation's history.
MAX_ASK_BYTES = 1_000_000
ERRORS = {s: {"model": ErrorReply} for s in (400, 401, 404, 503)}
TOO_LARGE = {413: {"model": ErrorReply, "description": "The body is over the size limit."}}
log = logging.getLogger("qa.http")


def status_of(e: QAError) -> int:
    if isinstance(e, NotFoundError):
        return 404
    return 503 if isinstance(e, UnavailableError) else 400


def bearer(token: str) -> Callable:
    """A dependency that lets a request through only with ``Authorization: Bearer <token>``."""
    scheme = HTTPBearer(auto_error=False, description="QA_API_TOKEN, or the --auth password")
    want = hashlib.sha256(token.encode()).digest()

    def check(creds: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        given = hashlib.sha256((creds.credentials if creds else "").encode()).digest()
        if not creds or not hmac.compare_digest(given, want):  # hashed: equal lengths, no timing leak
            raise HTTPException(401, "missing or wrong token: send the header 'Authorization: Bearer "
                                     "TOKEN' with QA_API_TOKEN (or the --auth password) as TOKEN.",
                                headers={"WWW-Authenticate": "Bearer"})
    return check


def sse(event: str, data: dict) -> str:
    """One Server-Sent Event; JSON escapes newlines, so ``data`` is always one line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def started(items: Iterator) -> Iterator:
    """The stream, once its first item has come. Waiting for it before the response starts lets
    bad input (an empty question, an unknown article) still get its 4xx status and JSON error."""
    return itertools.chain([next(items)], items)


def router(settings: Settings, slots: Slots, token: str = "") -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["answers and articles"], responses=ERRORS,
                  dependencies=[Depends(bearer(token))] if token else [])

    @r.post("/ask", summary="Answer a question, citing sentences",
            responses={**TOO_LARGE, 200: {"model": Answer, "description": "The answer (`Answer.to_dict()`); "
                             "with `stream: true`, `text/event-stream` events `delta` {text}, then "
                             "`answer` (this object, whose text is the one to keep) or `error` "
                             "{error}.",
                             "content": {"text/event-stream": {}}}})
    def ask_route(req: AskRequest):
        kwargs = dict(history=req.history, settings=settings, **req.ask_kwargs())
        if not req.stream:
            return JSONResponse(slots.ask(req.question, **kwargs).to_dict())
        events = answer_events(started(stream_answer(slots.ask, req.question, **kwargs)))
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @r.get("/articles", response_model=ArticlePage, summary="List articles, newest first")
    def list_route(limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0)):
        listed = qa.list_articles(settings=settings)
        page = listed[offset:offset + limit]  # qa.list_articles is newest first
        return {"total": len(listed), "offset": offset, "limit": limit,
                "articles": [a.to_dict(with_text=False) for a in page]}

    @r.get("/articles/{article_id}", summary="One article: text and sentences with offsets",
           responses={200: {"model": Article, "description": "For every sentence, "
                            "`text[start:end] == sentence.text`."}})
    def get_route(article_id: str):
        return JSONResponse(dataclasses.asdict(qa.get_article(article_id, settings=settings)))

    @r.post("/articles", status_code=201, response_model=AddedArticles,
            responses=TOO_LARGE,
            summary="Add an article from a URL, or records {title, text, url?, published?}")
    def add_route(req: AddArticles):
        added = qa.ingest(req.sources(), settings=settings)
        if not added:
            raise QAError("nothing was added: the text holds no sentence.")
        count_ingested(len(added))
        return {"articles": [a.to_dict(with_text=False) for a in added]}

    @r.delete("/articles/{article_id}", summary="Delete an article and all its records")
    def remove_route(article_id: str) -> dict[str, str]:
        qa.remove(article_id, settings=settings)
        return {"removed": article_id}

    @r.get("/stories", response_model=StoryPage, summary="List stories (articles grouped as one "
                                                          "developing event), newest first")
    def stories_route(search: str = "", single: bool = Query(False, description="Also stories of "
                                                                                "one article")):
        found = qa.stories(settings=settings, search=search)
        return {"stories": [st.to_dict() for st in found if single or st.articles > 1]}

    @r.get("/stories/{story_id}", response_model=StoryDetail, summary="One story and its articles")
    def story_route(story_id: str):
        st, articles = qa.story(story_id, settings=settings)
        return {"story": st.to_dict(), "articles": [a.to_dict(with_text=False) for a in articles]}

    @r.post("/stories/move", response_model=StoryDetail,
            summary="Move an article out of its story, or into another one (it stays there)")
    def move_route(req: MoveArticle):
        st = qa.move_article(req.article_id, req.story_id, settings=settings)
        return story_route(st.id)

    unknown_path(r, PREFIX)
    return r


def answer_events(items: Iterator[str | Answer]) -> Iterator[str]:
    """``delta`` events with the text as it comes (an extractive answer's, whole), then the
    ``answer``; an ``error`` event if answering fails after the stream began."""
    streamed = False
    try:
        for x in items:
            if isinstance(x, str):
                streamed = True
                yield sse("delta", {"text": x})
                continue
            if not streamed:
                yield sse("delta", {"text": x.text})
            yield sse("answer", x.to_dict())
    except QAError as e:
        yield sse("error", {"error": str(e)})
    except Exception as e:
        log.error("streaming an answer failed", exc_info=e)
        yield sse("error", {"error": f"answering failed ({type(e).__name__}); see the server log."})


def unknown_path(r: APIRouter, prefix: str) -> None:
    """A JSON 404 for any other path under ``prefix`` (which the page would otherwise get)."""
    @r.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                 include_in_schema=False)
    def unknown(request: Request, path: str):
        raise HTTPException(404, f"no endpoint {request.method} {prefix}/{path}; the endpoints "
                                 f"are listed at {DOCS}.")


class MethodCheck:
    """ASGI middleware: a documented path asked with a method the schema does not list for it
    gets a JSON 405 with ``Allow`` (OPTIONS: 204 and the path's methods), whatever the method
    (PUT, TRACE, QUERY...). Routing alone would answer the first matching route's methods only,
    and under `qa chat` the page mounted at / would answer 404."""

    def __init__(self, app, openapi: Callable[[], dict]) -> None:
        self.app = app
        self.openapi = openapi  # FastAPI builds the schema once, after every route is added
        self.paths: list[tuple] | None = None

    def allowed(self, path: str) -> list[str]:
        """The methods the schema lists for ``path``; a literal path wins over templates it also
        fits (``/stories/move`` is not the story "move")."""
        if self.paths is None:
            self.paths = [(compile_path(t)[0], {m.upper() for m in ops}, "{" not in t)
                          for t, ops in self.openapi()["paths"].items()]
        fits = [(ms, literal) for rx, ms, literal in self.paths if rx.fullmatch(path)]
        literal = [ms for ms, is_literal in fits if is_literal]
        return sorted(set().union(*(literal or [ms for ms, _ in fits])))

    async def __call__(self, scope, receive, send) -> None:
        allowed = self.allowed(scope["path"]) if scope["type"] == "http" else []
        method = scope.get("method", "")
        if not allowed or method in allowed:
            return await self.app(scope, receive, send)
        if method == "OPTIONS":
            reply = Response(status_code=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})
        else:
            message = f"{method} is not allowed on {scope['path']}; use {' or '.join(allowed)}."
            reply = JSONResponse(error_body(scope["path"], message, 405), 405,
                                 headers={"Allow": ", ".join(allowed)})
        await reply(scope, receive, send)


# --- errors: one line of JSON each ---

def error_body(path: str, message: str, status: int) -> dict:
    """``{"error": message}``; under /v1 the OpenAI shape, whose message OpenAI clients show."""
    if path.startswith("/v1/"):
        kind = {401: "authentication_error", 404: "not_found_error"}.get(
            status, "invalid_request_error" if status < 500 else "server_error")
        return {"error": {"message": message, "type": kind, "code": None, "param": None}}
    return {"error": message}


def error_response(request: Request, status: int, message: str, headers=None) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, message, status), status, headers=headers)


def install(app: FastAPI, settings: Settings) -> None:
    """The error handlers, the body limits and the method check; the routers come separately."""
    app.add_middleware(MethodCheck, openapi=app.openapi)
    app.add_middleware(BodyLimit, limits=[(PREFIX + "/articles", int(settings.max_file_mb * 1e6)),
                                          (PREFIX + "/", MAX_ASK_BYTES), ("/v1/", MAX_ASK_BYTES)])

    @app.exception_handler(QAError)
    async def qa_error(request: Request, e: QAError):
        mark_error(request.scope, e)
        return error_response(request, status_of(e), str(e))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, e: RequestValidationError):
        mark_error(request.scope, e)
        return error_response(request, 400, validation_message(e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        mark_error(request.scope, e)
        message = e.detail if isinstance(e.detail, str) else str(e.detail)
        return error_response(request, e.status_code, message, getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, e: Exception):
        log.error("%s %s failed", request.method, request.url.path, exc_info=e)
        return error_response(request, 500, f"the server failed ({type(e).__name__}); "
                                            "see its log, or try again.")


def validation_message(errors: list[dict]) -> str:
    """Pydantic's errors as one line: where and what, for the first three."""
    parts = []
    for err in errors[:3]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            parts.append("the body is not valid JSON")
        elif err.get("type") == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        else:
            parts.append(f"{where}: {msg}" if where else msg)
    return "bad request: " + "; ".join(parts) + f"; see {DOCS}."


def too_large(limit: int) -> str:
    return (f"the request body is over the {limit / 1e6:g} MB limit; send less (articles: raise "
            "QA_MAX_FILE_MB on the server).")


class BodyLimit:
    """ASGI middleware: a request body over its path's limit gets the 413 JSON error, whether
    it says its length up front or streams in chunks. Paths without a limit pass untouched."""

    def __init__(self, app, limits: list[tuple[str, int]]) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda pl: -len(pl[0]))  # the longest prefix wins

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        limit = next((n for p, n in self.limits if path.startswith(p)), None)
        if scope["type"] != "http" or limit is None:
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:  # refused before a byte of it is read
            return await JSONResponse(error_body(path, too_large(limit), 413), 413)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # FastAPI re-raises an HTTPException met while reading a body
                raise StarletteHTTPException(413, too_large(limit))
            return message
        await self.app(scope, counted, send)
