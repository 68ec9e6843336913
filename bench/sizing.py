"""Sizing for docs/deploy.md: what one news-length article costs to ingest and to keep.

Real news averages about 43 sentences and 730 words an article. This builds articles of exactly
43 sentences from the benchmark paragraphs (SQuAD, HotpotQA, DROP), ingests N of them into a
fresh data folder (embedded Chroma, SQLite catalog), and measures: wall and CPU time (CPU time
per article is what "ingest hours per core" is computed from: wall time depends on what else
shares the cores), sentences and vectors, disk of the catalog and of Chroma, peak RSS of the
ingest, then in a fresh process (bench/probe.py) the memory and ask latency of a server-like
process holding this index. Writes bench/results/sizing.json; docs/deploy.md extrapolates.

    python bench/sizing.py [--articles 200] [--work DIR] [--questions 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common
from index.sentences import split_sentences
from index.settings import Settings
from index.store import Store
from index.types import Document

SENTENCES = 43  # per article: the average of real news
PROBE = Path(__file__).with_name("probe.py")


def news_length_articles(n: int) -> list[Document]:
    """``n`` distinct articles of exactly ``SENTENCES`` sentences, paragraphs in a fixed order."""
    paras = common._paragraphs()
    docs, i = [], 0
    while len(docs) < n:
        text, count = [], 0
        while count < SENTENCES:
            title, p = paras[i % len(paras)]
            i += 1
            sents = split_sentences(p)
            if count + len(sents) > SENTENCES:
                p = p[:sents[SENTENCES - count - 1].end]
                sents = sents[:SENTENCES - count]
            text.append(p)
            count += len(sents)
        body = "\n\n".join(text)
        docs.append(Document(f"{title} (sizing {len(docs)})", body, f"sizing:{len(docs)}"))
    return docs


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # all threads: onnxruntime's included
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/sizing"))
    ap.add_argument("--questions", type=int, default=50)
    args = ap.parse_args()
    run = common.Run("sizing", articles=args.articles, questions=args.questions)
    shutil.rmtree(args.work, ignore_errors=True)
    docs = news_length_articles(args.articles)
    sentences = [len(split_sentences(d.text)) for d in docs]
    words = sum(len(d.text.split()) for d in docs)
    store = Store(Settings(data_dir=args.work, seed_dir=None))
    t0, c0 = time.perf_counter(), cpu_s()
    store.add_documents(docs)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    n_sent, n_vec = sum(sentences), store.vectors.count()
    catalog = sum(common.disk_mb(p) if p.is_dir() else p.stat().st_blocks * 512 / 1e6
                  for p in args.work.glob("catalog.sqlite3*"))
    chroma = common.disk_mb(args.work / "chroma")
    run["ingest"] = {
        "articles": len(docs), "sentences": n_sent, "vectors": n_vec,
        "words_per_article": round(words / len(docs), 1),
        "sentences_per_article": round(n_sent / len(docs), 1),
        "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
        "cpu_s_per_article": round(cpu / len(docs), 3), "wall_s_per_article": round(wall / len(docs), 3),
        "sentences_per_cpu_s": round(n_sent / cpu, 1),
        "peak_rss_mb": common.peak_rss_mb(), "load": common.load_average(),
        "disk_mb": {"catalog": round(catalog, 2), "chroma": chroma, "total": common.disk_mb(args.work)},
        "disk_kb_per_article": {"catalog": round(catalog * 1000 / len(docs), 1),
                                "chroma": round(chroma * 1000 / len(docs), 1)},
        "chroma_bytes_per_vector": round(chroma * 1e6 / n_vec)}
    print(json.dumps(run["ingest"], indent=1), flush=True)
    probe = subprocess.run([sys.executable, str(PROBE), str(args.work), "--questions",
                            str(args.questions)], capture_output=True, text=True, check=True)
    run["probe"] = json.loads(probe.stdout.strip().splitlines()[-1])
    print(json.dumps({k: run["probe"][k] for k in ("ask", "rss_mb", "peak_rss_mb", "open_store_s")}))
    print(run.save())


if __name__ == "__main__":
    main()
