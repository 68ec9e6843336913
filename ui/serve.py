"""Start the chat page: open (and seed) the index while gradio loads, then serve until stopped.

Importing gradio (~3 s) and opening the index (~2-3 s, plus embedding the seed article on the
very first run) are independent, so the index opens in a thread meanwhile: the page's first
request for the article list finds it ready, which keeps the cold start well under 8 s.
"""

from __future__ import annotations

import logging
import sys
import threading

from qa.settings import Settings
from qa.types import QAError

log = logging.getLogger("qa.ui")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def warm_up(settings: Settings) -> threading.Thread:
    """Open the store in the background; a failure is left for the page to report."""
    def run() -> None:
        try:
            from qa import api
            api.open_store(settings)
        except QAError as e:
            log.warning("index not ready: %s", e)
        except Exception:  # the page will hit the same error and show it; keep the server up
            log.exception("opening the index failed")
    t = threading.Thread(target=run, name="qa-warm-up", daemon=True)
    t.start()
    return t


def run(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860,
        auth: str | None = None, open_browser: bool = True) -> None:
    """Serve the page until interrupted (blocks)."""
    logging.basicConfig(level=logging.WARNING, format="qa chat: %(message)s")
    warm_up(settings)
    from ui import app  # imports gradio

    kwargs = app.launch_kwargs(settings, host=host, port=port, auth=auth, open_browser=open_browser)
    if host not in LOOPBACK and not auth:
        print(f"qa chat: warning: serving on {host} without --auth; anyone who can reach this "
              "machine can read and change the articles.", file=sys.stderr)
    demo = app.build(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"qa chat: serving http://{shown}:{port} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        demo.launch(**kwargs)
    except OSError as e:
        raise QAError(f"cannot serve on {host}:{port} ({e}); pick another --port.") from None


def start(settings: Settings, *, host: str = "127.0.0.1", port: int = 0, auth: str | None = None):
    """Serve in background threads (tests, benchmarks); returns (demo, url). Stop: demo.close()."""
    from ui import app

    port = port or free_port(host)
    kwargs = app.launch_kwargs(settings, host=host, port=port, auth=auth)
    demo = app.build(settings)
    demo.launch(prevent_thread_lock=True, **kwargs)
    return demo, f"http://{host}:{port}/"


def free_port(host: str = "127.0.0.1") -> int:
    import socket
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
