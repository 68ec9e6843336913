"""Ask benchmark on an existing data folder, in a fresh process (so memory and start-up are its own).

Prints one JSON object: start-up (process start to the first answer, and to the store being
open), warm ask latency p50/p95 over the questions, where the time goes (query embedding,
vector search, BM25, IDF counts, sentence fetch, the rest: scoring and the extractive answer),
peak RSS, whether the seed question found its known answer, and a digest of every answer's
citations (two stores holding the same index must give the same digest).

    python bench/probe.py DATA_DIR [--questions 200] [--chroma-url URL] [--database-url URL] [--rounds 1] [--reranker on|off]
"""

from __future__ import annotations

import time

T_PROCESS = time.perf_counter()  # before the heavy imports: start-up includes them

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import common  # noqa: E402
from qa import api  # noqa: E402
from index.settings import Settings  # noqa: E402

STAGES = {"embed_query": ("embedder", "embed_query"), "vector_search": ("vectors", "search"),
          "bm25": ("catalog", "bm25"), "doc_freq": ("catalog", "doc_freq"),
          "sentences_around": ("catalog", "sentences_around")}


def instrument(store, spent: dict[str, float]) -> None:
    """Wrap the store's parts so each ask's time is split by stage (no code change needed)."""
    for stage, (part, method) in STAGES.items():
        obj = getattr(store, part)
        fn = getattr(obj, method)

        def timed(*a, _fn=fn, _stage=stage, **k):
            t = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_stage] += time.perf_counter() - t
        if part == "embedder":  # pydantic model: bypass its __setattr__
            object.__setattr__(obj, method, timed)
        else:
            setattr(obj, method, timed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--chroma-url", default="")
    ap.add_argument("--database-url", default="", help="the catalog in PostgreSQL (else the folder's SQLite)")
    ap.add_argument("--rounds", type=int, default=1, help="ask every question this many times")
    ap.add_argument("--reranker", default="on", help="QA_RERANKER for the asks (on / off)")
    ap.add_argument("--reader-model", default="", help="QA_READER_MODEL: a folder with another reader")
    ap.add_argument("--news", type=int, default=0,
                    help="ask questions about the first N articles of common.news_corpus (else the "
                         "benchmark questions of common.questions)")
    args = ap.parse_args()
    s = Settings(data_dir=args.data_dir, seed_dir=None, chroma_url=args.chroma_url,
                 database_url=args.database_url, reranker=args.reranker,
                 reader_model=args.reader_model)
    t = time.perf_counter()
    store = api.open_store(s)
    t_open = time.perf_counter()
    first = api.ask(common.SEED_QUESTION, settings=s)
    t_first = time.perf_counter()
    qs = (common.news_questions(args.questions, args.news) if args.news
          else common.questions(args.questions))
    for q in qs[:5]:  # warm caches
        api.ask(q, settings=s)
    spent: dict[str, float] = defaultdict(float)
    instrument(store, spent)
    lat, cited = [], hashlib.sha256()
    cpu0 = time.process_time()
    for _ in range(args.rounds):
        for q in qs:
            t0 = time.perf_counter()
            a = api.ask(q, settings=s)
            lat.append(time.perf_counter() - t0)
            cited.update(repr([(c.article_id, c.start, c.end) for c in a.citations]).encode())
    n = len(lat)
    cpu_ms = round(1000 * (time.process_time() - cpu0) / n, 2)  # all threads; steadier than wall time under load
    stages = {k: round(1000 * v / n, 2) for k, v in spent.items()}
    stages["rest"] = round(1000 * sum(lat) / n - sum(stages.values()), 2)
    c0 = first.citations[0].sentence if first.citations else ""
    out = {"articles": store.catalog.count(),
           "sentences": sum(store.catalog.sentence_counts().values()),
           "import_s": round(t - T_PROCESS, 2), "open_store_s": round(t_open - t, 2),
           "first_answer_s": round(t_first - T_PROCESS, 2),
           "ask": common.ms_summary(lat), "ask_cpu_ms_mean": cpu_ms,
           "citations_digest": cited.hexdigest()[:16], "stages_mean_ms": stages,
           "seed_answer_found": any(common.SEED_ANSWER in c.sentence for c in first.citations),
           "seed_answer_first": common.SEED_ANSWER in c0, "seed_answer_text": first.text[:300],
           **{k: v for k, v in common.proc_rss_mb(__import__("os").getpid()).items()},
           "load": common.load_average()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
