"""One server for people and programs: the chat page, the JSON API and the OpenAI-compatible chat
on one FastAPI app and one port, run by uvicorn. ``qa chat`` serves all three, ``qa serve`` the
APIs alone.

Serve first, then open (and seed) the index while the browser loads the page: importing gradio
(~3 s) and opening the index (~2.5 s, plus embedding the seed article on the very first run)
are both CPU-bound Python, so side by side in one process they only share the GIL, while the
browser is another process on another core. The first request that needs the index waits for
it. Measured with bench/ui_startup.py.

Logins: ``--auth user:password`` (or QA_AUTH) guards the page; the APIs then want
``Authorization: Bearer TOKEN``, TOKEN being QA_API_TOKEN if set, else that password. Without
a login the server may only listen on a loopback address. ``/healthz``, ``/readyz`` and
``/metrics`` (``ui.ops``) need no login: load balancers and Prometheus call them without one.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
import threading
import time
import webbrowser

from index.settings import Settings
from index.types import QAError

log = logging.getLogger("qa.ui")
API_DOCS = "/api/v1/docs"


def warm_up(settings: Settings) -> threading.Thread:
    """Open the store in the background; a failure is left for the page to report."""
    def run() -> None:
        try:
            from qa import api
            api.open_store(settings)
        except QAError as e:
            from ui.ops import masked
            log.warning("index not ready: %s", masked(str(e)))  # a store URL may hold a password
        except Exception:  # the page will hit the same error and show it; keep the server up
            log.exception("opening the index failed")
    t = threading.Thread(target=run, name="qa-warm-up", daemon=True)
    t.start()
    return t


def parse_login(auth: str | None) -> tuple[str, str] | None:
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise QAError("--auth / QA_AUTH must be user:password (both non-empty).")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials(settings: Settings, auth: str | None) -> tuple[tuple[str, str] | None, str]:
    """(the page's login or None, the APIs' bearer token or "") from --auth and QA_*."""
    login = parse_login(auth or settings.auth)
    return login, settings.api_token or (login[1] if login else "")


def check_exposure(host: str, *, page: bool, login, token: str) -> None:
    """Refuse to serve a non-loopback address to anyone without a login."""
    if is_loopback(host):
        return
    if page and not login:
        raise QAError(f"serving on {host} needs a login: add --auth user:password (or set QA_AUTH), "
                      "or serve on 127.0.0.1.")
    if not token:
        raise QAError(f"serving on {host} needs a login: add --auth user:password or set "
                      "QA_API_TOKEN, or serve on 127.0.0.1.")


def build_app(settings: Settings, *, page: bool, host: str = "127.0.0.1", port: int = 7860,
              auth: str | None = None):
    """The FastAPI app: /api/v1 (with its docs), /v1, and the page at / when ``page``. Serving
    it on ``host`` is for ``start`` to allow (``check_exposure``)."""
    from fastapi.responses import RedirectResponse
    from fastapi_offline import FastAPIOffline

    from ui import http, openai_compat, ops
    from ui.answering import Slots

    login, token = credentials(settings, auth)
    slots = Slots(settings.concurrency)  # shared by the page and both APIs
    # FastAPIOffline serves the docs page's scripts from the package, not from a CDN.
    app = FastAPIOffline(
        title="qa-news", version="1", docs_url=API_DOCS, redoc_url=None,
        openapi_url="/api/v1/openapi.json", static_url="/api/v1/docs-assets",
        swagger_ui_parameters={"validatorUrl": None},  # the docs page calls no outside validator
        description="Answers about news articles, each proven by cited sentences. Send "
                    "`Authorization: Bearer TOKEN` when the server has a login. The OpenAI-"
                    "compatible chat is at /v1 (model `qa-news`).")
    http.install(app, settings)
    ops.install(app, settings)  # /healthz, /readyz, /metrics; the access log
    app.include_router(http.router(settings, slots, token))
    app.include_router(openai_compat.router(settings, slots, token))
    if page:
        from ui import app as page_app  # imports gradio
        page_app.mount(app, page_app.build(settings, slots), settings, host=host, port=port,
                       login=login)
    else:
        app.get("/", include_in_schema=False)(lambda: RedirectResponse(API_DOCS))
    return app


class Server:
    """uvicorn serving ``app`` on an already bound socket, in a background thread."""

    def __init__(self, app, sock: socket.socket) -> None:
        import uvicorn
        self.sock = sock
        # Quiet, and quick to stop: the page keeps event streams open that would hold a
        # graceful shutdown for as long as the browser tab lives.
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                     lifespan="on", timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="qa-server", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise QAError("the server did not start; see the messages above.")
            time.sleep(0.05)

    def wait(self) -> None:
        """Until Ctrl+C or SIGTERM (main thread only)."""
        def stop(*_):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, stop)
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        self.close()

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.sock.close()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise QAError(f"cannot serve on {host}:{port}: the port is in use or not allowed; "
                      "pick another with --port.") from None
    sock.listen(2048)
    return sock


def start(settings: Settings, *, host: str = "127.0.0.1", port: int = 0, auth: str | None = None,
          page: bool = True) -> tuple[Server, str]:
    """Serve in the background (also for tests and benchmarks); returns (server, base url).
    ``port`` 0 takes a free one. Stop with ``server.close()``."""
    login, token = credentials(settings, auth)
    check_exposure(host, page=page, login=login, token=token)  # before anything listens
    sock = bind(host, port)
    try:
        app = build_app(settings, page=page, host=host, port=sock.getsockname()[1], auth=auth)
        server = Server(app, sock)
        server.start()
    except BaseException:
        sock.close()
        raise
    warm_up(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return server, f"http://{shown}:{sock.getsockname()[1]}/"


def run(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
        open_browser: bool = True, page: bool = True) -> None:
    """Serve until interrupted (blocks)."""
    logging.basicConfig(level=logging.WARNING, format="qa: %(message)s")
    server, url = start(settings, host=host, port=port, auth=auth, page=page)
    if settings.access_log if settings.access_log is not None else not page:
        from ui import ops
        ops.log_to_stderr()
    what = "the chat page at " + url if page else "the API at " + url.rstrip("/") + "/api/v1"
    print(f"qa: serving {what} (docs: {url.rstrip('/')}{API_DOCS}; OpenAI-compatible: "
          f"{url}v1; Ctrl+C to stop)", file=sys.stderr, flush=True)
    if open_browser and page:
        webbrowser.open(url)
    server.wait()
