"""A progress callback for long work in a terminal (ingest, eval)."""

from __future__ import annotations

import sys


def progress_bar(desc: str):
    """A (done, total) callback drawing a tqdm bar on stderr, shown only for long work."""
    from tqdm import tqdm
    state = {"bar": None}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            if total < 200 or not sys.stderr.isatty():
                return
            state["bar"] = tqdm(total=total, desc=desc, unit="sent", file=sys.stderr, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return update
