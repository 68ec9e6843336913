"""How a server runs ``qa.ask`` for its users: a shared cap on answers at once, and streaming.

Both the chat page and the HTTP API answer through here, so ``QA_CONCURRENCY`` bounds the
answers one server computes at once, whichever door they came in by. A generative answer
spends seconds waiting on the model server: overlapping them is what lets the sixteenth user
wait about as long as the first. The cap keeps a burst from opening unbounded model calls.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

from index.types import Answer
from ui.ops import observe_ask

_DONE = object()


class Slots:
    """At most ``n`` answers at once; a caller beyond that waits for a free slot."""

    def __init__(self, n: int) -> None:
        self.size = n
        self._sem = threading.BoundedSemaphore(n)

    @observe_ask  # counted and timed in /metrics, the wait for a slot included
    def ask(self, *args, **kwargs) -> Answer:
        """``qa.ask`` in a slot (looked up at each call, so a test can watch it)."""
        import qa
        with self._sem:
            return qa.ask(*args, **kwargs)


def stream_answer(ask: Callable[..., Answer], question: str, **kwargs) -> Iterator[str | Answer]:
    """Run ``ask(question, on_token=..., **kwargs)`` in a worker thread; yield the text it
    streams (all pieces that arrived since the last step, joined), then the Answer.

    An extractive answer streams nothing: only the Answer comes. An exception from ``ask`` is
    raised here, after the text that came before it.
    """
    items: queue.Queue = queue.Queue()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["answer"] = ask(question, on_token=items.put, **kwargs)
        except BaseException as e:  # handed to the reading thread, which raises it
            outcome["error"] = e
        finally:
            items.put(_DONE)

    threading.Thread(target=work, name="qa-ask", daemon=True).start()
    while True:
        batch = [items.get()]
        while batch[-1] is not _DONE and not items.empty():
            batch.append(items.get())
        text = "".join(str(b) for b in batch if b is not _DONE)
        if text:
            yield text
        if batch[-1] is _DONE:
            break
    if "error" in outcome:
        raise outcome["error"]
    yield outcome["answer"]
