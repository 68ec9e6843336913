"""What the reader costs at ask time: warm latency, peak memory and a cold ``qa ask``, with
QA_RERANKER off and on, on one index of 1,000 articles.

The corpus (``--corpus``): ``news`` (default), the articles written here shaped like real news
(bench/common.news_corpus: train/data/news_v3, 30+ sentences, with bylines and captions), asked
their own questions; or ``bench``, short articles cut from benchmark paragraphs (the corpus
of earlier rounds). Each configuration is probed in a fresh process (bench/probe.py: warm ask
p50/p95 over the questions, peak RSS); the cold ``qa ask`` is a new process each time, median of
the runs. ``--readers NAME=DIR ...`` measures other readers too (reader on), in the same run.
Writes bench/results/reader.json (``--name`` to keep another).

    python bench/reader.py [--corpus news|bench] [--articles 1000] [--questions 200]
                           [--cold-runs 5] [--readers old=DIR] [--work DIR]
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
    ap.add_argument("--corpus", choices=["news", "bench"], default="news")
    ap.add_argument("--readers", nargs="*", default=[],
                    help="NAME=DIR: another reader (its reader-int8.onnx and reader.json) to measure")
    ap.add_argument("--name", default="reader", help="results file name (bench/results/NAME.json)")
    a = ap.parse_args()
    run = common.Run(a.name, articles=a.articles, questions=a.questions, cold_runs=a.cold_runs,
                     corpus=a.corpus)
    print(common.header(run), flush=True)
    data = a.work / f"data-{a.corpus}-{a.articles}"
    if not data.is_dir():
        store = Store(Settings(data_dir=data, seed_dir=None))
        t = time.perf_counter()
        docs = common.news_corpus(a.articles) if a.corpus == "news" else common.corpus(a.articles)
        store.add_documents(docs)
        print(f"indexed {a.articles} articles in {time.perf_counter() - t:.0f} s", flush=True)
    news = ["--news", str(a.articles)] if a.corpus == "news" else []
    readers = [("off", "off", ""), ("on", "on", "")]
    readers += [(name, "on", str(Path(d).resolve())) for name, d in (r.split("=", 1) for r in a.readers)]
    for mode, reranker, model in readers:
        out = subprocess.run([sys.executable, str(PROBE), str(data), "--questions", str(a.questions),
                              "--reranker", reranker, "--reader-model", model, *news],
                             capture_output=True, text=True, check=True)
        probe = json.loads(out.stdout.strip().splitlines()[-1])
        env = dict(os.environ, QA_DATA_DIR=str(data), QA_SEED_DIR="", QA_RERANKER=reranker,
                   QA_READER_MODEL=model)
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
    base = run["off"]["ask"]["p50_ms"]
    run["reader_adds_p50_ms"] = {m: round(run[m]["ask"]["p50_ms"] - base, 1) for m, _, _ in readers[1:]}
    print("reader adds to the warm p50 (ms):", run["reader_adds_p50_ms"], flush=True)
    print("saved", run.save())


if __name__ == "__main__":
    main()
