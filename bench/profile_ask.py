"""Where a warm ask spends its time: cProfile over many asks on an existing data folder.

Prints the top functions by cumulative time, grouped the way the docs discuss them, and writes
bench/results/profile_ask.txt.

    python bench/profile_ask.py [DATA_DIR] [--questions 100]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

import common
from qa import api
from index.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=Path("/tmp/qa-bench/scale/data"))
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    s = Settings(data_dir=args.data_dir, seed_dir=None)
    store = api.open_store(s)
    qs = common.questions(args.questions)
    for q in qs[:5]:
        api.ask(q, settings=s)
    prof = cProfile.Profile()
    t, c = time.perf_counter(), time.process_time()
    prof.enable()
    for q in qs:
        api.ask(q, settings=s)
    prof.disable()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
    head = (f"{common.machine()['date']}, {store.catalog.count()} articles, {len(qs)} asks under cProfile: "
            f"{1000 * wall / len(qs):.1f} ms wall, {1000 * cpu / len(qs):.1f} ms CPU per ask; "
            f"load {common.load_average()}\n")
    text = head + "\n".join(line.rstrip() for line in buf.getvalue().splitlines() if line.strip()) + "\n"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "profile_ask.txt").write_text(text.replace(str(common.REPO) + "/", "")
                                                    .replace(str(Path(common.__file__).resolve().parents[1]), ""))
    print(text)


if __name__ == "__main__":
    main()
