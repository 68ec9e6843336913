"""Start the chat page: serve first, then open (and seed) the index while the browser loads it.

Importing gradio (~3 s) and importing + opening the index (~2.5 s, plus embedding the seed
article on the very first run) are both CPU-bound Python: run side by side in one process
they only share the GIL. So the server starts first and the index opens in a thread while
the browser (another process, another core) loads the page; the page's first request for the
article list waits for it. Measured with bench/ui_startup.py.
"""

from __future__ import annotations

import logging
import sys
import threading

from index.settings import Settings
from index.types import QAError

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
    from ui import app  # imports gradio

    kwargs = app.launch_kwargs(settings, host=host, port=port, auth=auth, open_browser=open_browser)
    if host not in LOOPBACK and not auth:
        print(f"qa chat: warning: serving on {host} without --auth; anyone who can reach this "
              "machine can read and change the articles.", file=sys.stderr)
    demo = app.build(settings)
    try:
        demo.launch(prevent_thread_lock=True, **kwargs)
    except OSError:  # gradio's message names its own env variables; ours names our flag
        raise QAError(f"cannot serve on {host}:{port}: the port is in use or not allowed; "
                      "pick another with --port.") from None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"qa chat: serving http://{shown}:{port} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    warm_up(settings)
    demo.block_thread()  # until Ctrl+C


def start(settings: Settings, *, host: str = "127.0.0.1", port: int = 0, auth: str | None = None):
    """Serve in background threads (tests, benchmarks); returns (demo, url). Stop: demo.close()."""
    from ui import app

    port = port or free_port(host)
    kwargs = app.launch_kwargs(settings, host=host, port=port, auth=auth)
    demo = app.build(settings)
    demo.launch(prevent_thread_lock=True, **kwargs)
    warm_up(settings)
    return demo, f"http://{host}:{port}/"


def free_port(host: str = "127.0.0.1") -> int:
    import socket
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
