"""Ingest throughput and ask latency on the SQuAD file's articles, plus a cold ``qa ask``.

1. The embedding model alone on the texts ingest embeds (sentences/s): the ceiling.
2. Ingest of all the file's articles (sentences/s, and as a share of that ceiling).
3. Warm ``qa.ask`` latency p50/p95 over the file's questions (extractive).
4. Cold ``qa ask`` as a user runs it: a new process each time, repeated, median (wall time and
   the process's CPU time, which other jobs on the machine do not inflate).

    python bench/ingest_ask.py [--questions 300] [--cold-runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from index.chunks import embed_text, make_chunks
from index.sentences import split_sentences
from index.store import article_id
from qa import api
from index.settings import Settings
from index.types import Article

QA = Path(sys.executable).with_name("qa")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=5)
    args = ap.parse_args()
    docs, records = common.squad_documents()
    qs = [r["question"] for r in random.Random(5).sample(records, min(args.questions, len(records)))]
    run = common.Run("ingest_ask", articles=len(docs), questions=len(qs), cold_runs=args.cold_runs)
    print(common.header(run), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-ia-"))
    try:
        s = Settings(data_dir=tmp / "data", seed_dir=None)
        store = api.open_store(s, seed=False)
        texts = []
        for d in docs:
            a = Article(article_id(d.text), d.title, d.text, d.source, sentences=tuple(split_sentences(d.text)))
            texts += [embed_text(a, c) for c in make_chunks(a)]
        sample = random.Random(1).sample(texts, min(600, len(texts)))
        store.embedder.embed_many(sample[:64])
        t, c = time.perf_counter(), time.process_time()
        store.embedder.embed_many(sample)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        run["model_alone"] = m = {"texts": len(sample), "sentences_per_s": round(len(sample) / dt, 1),
                                  "cpu_ms_per_sentence": round(1000 * dc / len(sample), 2),
                                  "load": common.load_average()}
        t, c = time.perf_counter(), time.process_time()
        store.add_documents(docs)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        run["ingest"] = g = {"articles": len(docs), "sentences": len(texts), "seconds": round(dt, 1),
                             "sentences_per_s": round(len(texts) / dt, 1),
                             "cpu_ms_per_sentence": round(1000 * dc / len(texts), 2),
                             "vs_model": round(len(texts) / dt / m["sentences_per_s"], 2),
                             "vs_model_cpu": round(m["cpu_ms_per_sentence"] / (1000 * dc / len(texts)), 2),
                             "load": common.load_average()}
        print(f"model alone {m['sentences_per_s']} sentences/s ({m['cpu_ms_per_sentence']} CPU ms each); "
              f"ingest {g['sentences_per_s']} sentences/s = {g['vs_model']:.0%} of the model "
              f"({g['vs_model_cpu']:.0%} by CPU time)", flush=True)
        for q in qs[:5]:
            api.ask(q, settings=s)
        lat = []
        for q in qs:
            t = time.perf_counter()
            api.ask(q, settings=s)
            lat.append(time.perf_counter() - t)
        run["ask_warm"] = w = {**common.ms_summary(lat), "load": common.load_average()}
        print(f"warm ask p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms over {len(lat)} questions", flush=True)
        api.close_store(s)
        env = {**os.environ, "QA_DATA_DIR": str(tmp / "data"), "QA_SEED_DIR": ""}
        cold, cpu = [], []
        for i in range(args.cold_runs):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([str(QA), "ask", qs[i % len(qs)]], env=env, check=True, capture_output=True)
            cold.append(time.perf_counter() - t)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        run["ask_cold"] = k = {"runs_s": [round(x, 2) for x in cold], "median_s": round(statistics.median(cold), 2),
                               "cpu_s_median": round(statistics.median(cpu), 2), "load": common.load_average()}
        print(f"cold `qa ask` (new process): median {k['median_s']} s over {len(cold)} runs {k['runs_s']}, "
              f"CPU time {k['cpu_s_median']} s (median)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
