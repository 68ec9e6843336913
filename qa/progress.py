"""A progress callback for long work in a terminal (ingest, eval)."""

from __future__ import annotations

import sys


def progress_bar(desc: str, unit: str = "sent", least: int = 200):
    """A (done, total, ...) callback drawing a tqdm bar on stderr, shown only for work of at
    least ``least`` units (200 sentences: a few seconds of embedding)."""
    from tqdm import tqdm
    state = {"bar": None}

    def update(done: int, total: int, *_) -> None:
        if state["bar"] is None:
            if total < least or not sys.stderr.isatty():
                return
            state["bar"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return update
