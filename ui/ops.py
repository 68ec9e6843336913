"""What a load balancer and an operator need from a server: ``/healthz``, ``/readyz``,
``/metrics`` (Prometheus text format) and a one-line JSON access log per request.

- ``/healthz``: 200 while the process serves HTTP; touches no store, so a slow or down store
  never gets a healthy replica restarted.
- ``/readyz``: 200 when the catalog and the vector store answer, else 503 with a JSON error;
  a load balancer sends traffic only to ready replicas.
- ``/metrics``: asks by mode and outcome, ask latency, asks in progress, ingested articles,
  requests by route and status, errors by status and kind, plus prometheus-client's process
  metrics (memory, CPU, open files).

None of the three needs the bearer token: load balancers and Prometheus call them without
one, and they show no article, question or setting. ``/readyz`` names the store that is down,
with any password in its URL masked.

The access log goes to the ``qa.access`` logger at INFO, one JSON object a line: ``time``
(UTC, ISO 8601), ``method``, ``path`` (no query string), ``status``, ``ms`` (until the last
byte of the body, streams included) and ``client`` (the peer address). Headers, the
Authorization header included, are never logged.

prometheus_client is imported here only. Metrics are per process (module-level), so every app
in one process (tests start many) adds to the same counters, as Prometheus expects.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timezone

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import (CONTENT_TYPE_LATEST, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)

from index.settings import Settings
from index.types import Answer, QAError
from ui.schemas import ErrorReply

access_log = logging.getLogger("qa.access")
disable_created_metrics()  # a *_created sample per series doubles the page and no one reads it

ASKS = Counter("qa_asks", "Questions answered, by answer mode and outcome (answered, abstained, "
               "error); mode is 'unknown' for an ask that failed before answering.",
               ["mode", "outcome"])
ASK_SECONDS = Histogram("qa_ask_duration_seconds", "Time to answer one question (the page, the "
                        "API and the OpenAI-compatible chat alike), waiting for a slot included.",
                        buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120))
ASKS_IN_PROGRESS = Gauge("qa_asks_in_progress", "Questions being answered or waiting for a slot.")
INGESTED = Counter("qa_ingested_articles", "Articles in the replies of ingest requests served by "
                   "this process (the API's POST /api/v1/articles and the page); an article that "
                   "was stored already counts again.")
REQUESTS = Counter("qa_http_requests", "HTTP requests by method, route template and status.",
                   ["method", "route", "status"])
IN_FLIGHT = Gauge("qa_http_requests_in_progress", "HTTP requests being served.")
ERRORS = Counter("qa_errors", "Error responses by status and kind (the exception type: QAError, "
                 "NotFoundError, UnavailableError, RequestValidationError, HTTPException...).",
                 ["status", "kind"])

OPS_TAG = "operations"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}  # others: "other"
_PASSWORD_IN_URL = re.compile(r"(://[^/@\s:]+):[^/@\s]*@")


def observe_ask(ask):
    """``ask`` wrapped to count its outcome and time it (the server's one door to ``qa.ask``)."""
    def observed(*args, **kwargs) -> Answer:
        t0 = time.perf_counter()
        ASKS_IN_PROGRESS.inc()
        try:
            answer = ask(*args, **kwargs)
        except BaseException:
            ASKS.labels("unknown", "error").inc()
            raise
        finally:
            ASKS_IN_PROGRESS.dec()
            ASK_SECONDS.observe(time.perf_counter() - t0)
        ASKS.labels(answer.mode, "abstained" if answer.abstained else "answered").inc()
        return answer
    return observed


def masked(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@`` URL in it as ``***``."""
    return _PASSWORD_IN_URL.sub(r"\1:***@", text)


def count_ingested(n: int) -> None:
    INGESTED.inc(n)


def mark_error(scope: dict, e: BaseException) -> None:
    """Name the error a response reports, for ``qa_errors_total`` (read by ``Observe``)."""
    scope["qa.error_kind"] = type(e).__name__


def install(app: FastAPI, settings: Settings) -> None:
    """The three routes and the access-log and metrics middleware. Install before mounting the
    page at ``/``, which would otherwise answer these paths."""
    from qa import api

    @app.get("/healthz", tags=[OPS_TAG], summary="Liveness: the process serves HTTP")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=[OPS_TAG], summary="Readiness: the catalog and the vector store answer",
             responses={503: {"model": ErrorReply, "description": "Not ready: the line says "
                              "which store is down or still opening."}})
    def readyz():
        try:
            api.check_ready(settings)
        except QAError as e:
            return JSONResponse({"error": "not ready: " + masked(str(e))},
                                503, headers={"Retry-After": "5"})
        return {"status": "ready"}

    @app.get("/metrics", tags=[OPS_TAG], summary="Prometheus metrics (text exposition format)",
             response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                              "description": "Counters, gauges and histograms, one sample a line."}})
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(Observe)


class Observe:
    """ASGI middleware: counts and times every HTTP request and writes its access-log line.
    Outermost of ours, so a body-limit 413 and an unexpected 500 are seen like any reply."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500  # if the app raises before it answers, the server sends a 500
        IN_FLIGHT.inc()

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, sending)
        except BaseException as e:
            scope.setdefault("qa.error_kind", type(e).__name__)
            raise
        finally:
            IN_FLIGHT.dec()
            ms = (time.perf_counter() - t0) * 1000
            record(scope, status, ms)


def record(scope: dict, status: int, ms: float) -> None:
    method = scope.get("method", "")
    route = getattr(scope.get("route"), "path", None) or "other"  # a template: bounded labels
    REQUESTS.labels(method if method in METHODS else "other", route, str(status)).inc()
    if status >= 400:
        ERRORS.labels(str(status), scope.get("qa.error_kind", "HTTPException")).inc()
    if access_log.isEnabledFor(logging.INFO):
        client = scope.get("client")
        access_log.info(json.dumps({
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "method": method, "path": scope.get("path", ""), "status": status,
            "ms": round(ms, 1), "client": f"{client[0]}:{client[1]}" if client else None},
            ensure_ascii=False))


def log_to_stderr() -> None:
    """Access-log lines on stderr as they are (JSON), apart from the ``qa:`` messages (once)."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
