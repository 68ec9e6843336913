"""What the reader costs at ask time: warm latency, peak memory and a cold ``qa ask``, with
QA_RERANKER off and on, on one index of 1,000 articles (bench/common.corpus).

Each configuration is probed in a fresh process (bench/probe.py: warm ask p50/p95 over the
questions, peak RSS); the cold ``qa ask`` is a new process each time, median of the runs.
Writes bench/results/reader.json.

    python bench/reader.py [--articles 1000] [--questions 200] [--cold-runs 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common
from index.settings import Settings
from index.store import Store

PROBE = Path(__file__).with_name("probe.py")
QA = Path(sys.executable).with_name("qa")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/reader"))
    a = ap.parse_args()
    run = common.Run("reader", articles=a.articles, questions=a.questions, cold_runs=a.cold_runs)
    print(common.header(run), flush=True)
    data = a.work / f"data-{a.articles}"
    if not data.is_dir():
        store = Store(Settings(data_dir=data, seed_dir=None))
        t = time.perf_counter()
        store.add_documents(common.corpus(a.articles))
        print(f"indexed {a.articles} articles in {time.perf_counter() - t:.0f} s", flush=True)
    for mode in ("off", "on"):
        out = subprocess.run([sys.executable, str(PROBE), str(data), "--questions", str(a.questions),
                              "--reranker", mode], capture_output=True, text=True, check=True)
        probe = json.loads(out.stdout.strip().splitlines()[-1])
        env = dict(os.environ, QA_DATA_DIR=str(data), QA_SEED_DIR="", QA_RERANKER=mode)
        cold = []
        for _ in range(a.cold_runs):
            t = time.perf_counter()
            subprocess.run([str(QA), "ask", common.SEED_QUESTION], env=env, check=True,
                           capture_output=True)
            cold.append(time.perf_counter() - t)
        run[mode] = {"ask": probe["ask"], "ask_cpu_ms_mean": probe["ask_cpu_ms_mean"],
                     "peak_rss_mb": probe["peak_rss_mb"], "first_answer_s": probe["first_answer_s"],
                     "seed_answer_first": probe["seed_answer_first"],
                     "cold_qa_ask_s": {"median": round(statistics.median(cold), 2),
                                       "runs": [round(x, 2) for x in cold]}, "load": probe["load"]}
        print(mode, json.dumps(run[mode]), flush=True)
    run["rss_growth_mb"] = round(run["on"]["peak_rss_mb"] - run["off"]["peak_rss_mb"], 1)
    print("saved", run.save())


if __name__ == "__main__":
    main()
