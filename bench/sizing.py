"""Sizing for docs/deploy.md: what one news-length article costs to ingest and to keep.

Real news averages about 43 sentences and 730 words an article. This builds articles of exactly
43 sentences from the benchmark paragraphs (SQuAD, HotpotQA, DROP), ingests N of them into a
fresh data folder (embedded Chroma, SQLite catalog), and measures: wall and CPU time (CPU time
per article is what "ingest hours per core" is computed from: wall time depends on what else
shares the cores), sentences and vectors, disk of the catalog and of Chroma, peak RSS of the
ingest, then in a fresh process (bench/probe.py) the memory and ask latency of a server-like
process holding this index. Writes bench/results/sizing.json; docs/deploy.md extrapolates.

With --database-url (default: $QA_DATABASE_URL) the catalog goes into that PostgreSQL database
instead, which must be empty: its size is ``pg_database_size`` after the ingest less the size
with the empty schema (write-ahead log not counted), per table as well, and when the server runs
on this machine the CPU time of the ingest's server backends (from /proc) is added to the
ingest's own. Writes bench/results/sizing_postgres.json then.

    python bench/sizing.py [--articles 200] [--work DIR] [--questions 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
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


def pg_size(url: str) -> dict[str, int]:
    """Bytes of the database and of each table with its indexes and TOAST (the biggest first)."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as c:
        tables = c.execute("select relname, pg_total_relation_size(oid) from pg_class where relkind = 'r' "
                           "and relnamespace = 'public'::regnamespace order by 2 desc").fetchall()
        return {"database": c.execute("select pg_database_size(current_database())").fetchone()[0],
                **dict(tables)}


def pg_backend_cpu_s(url: str) -> float | None:
    """CPU seconds of this database's qa-news server backends, read from /proc: None when the
    server is not on this machine (or its processes are not readable)."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as c:
        pids = [r[0] for r in c.execute("select pid from pg_stat_activity where datname = current_database() "
                                        "and application_name = 'qa-news'")]
    try:
        ticks = sum(sum(int(x) for x in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
                    for pid in pids)
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/sizing"))
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--database-url", default=os.environ.get("QA_DATABASE_URL", ""),
                    help="an empty PostgreSQL database for the catalog (default: $QA_DATABASE_URL)")
    args = ap.parse_args()
    url = args.database_url
    run = common.Run("sizing_postgres" if url else "sizing", articles=args.articles,
                     questions=args.questions, catalog="PostgreSQL" if url else "SQLite")
    shutil.rmtree(args.work, ignore_errors=True)
    docs = news_length_articles(args.articles)
    sentences = [len(split_sentences(d.text)) for d in docs]
    words = sum(len(d.text.split()) for d in docs)
    store = Store(Settings(data_dir=args.work, seed_dir=None, database_url=url))
    if url:  # opening the store created the schema
        empty, server0 = pg_size(url), pg_backend_cpu_s(url)
    t0, c0 = time.perf_counter(), cpu_s()
    store.add_documents(docs)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    server = pg_backend_cpu_s(url) - server0 if url and server0 is not None else None
    n_sent, n_vec = sum(sentences), store.vectors.count()
    if url:
        full = pg_size(url)
        run["postgres_bytes"] = {k: {"empty": empty.get(k, 0), "after": v,
                                     "per_article": round((v - empty.get(k, 0)) / len(docs))}
                                 for k, v in full.items()}
        catalog = (full["database"] - empty["database"]) / 1e6
    else:
        catalog = sum(common.disk_mb(p) if p.is_dir() else p.stat().st_blocks * 512 / 1e6
                      for p in args.work.glob("catalog.sqlite3*"))
    chroma = common.disk_mb(args.work / "chroma")
    run["ingest"] = {
        "articles": len(docs), "sentences": n_sent, "vectors": n_vec,
        "words_per_article": round(words / len(docs), 1),
        "sentences_per_article": round(n_sent / len(docs), 1),
        "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
        "cpu_s_per_article": round(cpu / len(docs), 3), "wall_s_per_article": round(wall / len(docs), 3),
        **({"server_cpu_s": round(server, 1), "server_cpu_s_per_article": round(server / len(docs), 3)}
           if server is not None else {}),
        "sentences_per_cpu_s": round(n_sent / cpu, 1),
        "peak_rss_mb": common.peak_rss_mb(), "load": common.load_average(),
        "disk_mb": {"catalog": round(catalog, 2), "chroma": chroma, "total": common.disk_mb(args.work)},
        "disk_kb_per_article": {"catalog": round(catalog * 1000 / len(docs), 1),
                                "chroma": round(chroma * 1000 / len(docs), 1)},
        "chroma_bytes_per_vector": round(chroma * 1e6 / n_vec)}
    print(json.dumps(run["ingest"], indent=1), flush=True)
    probe = subprocess.run([sys.executable, str(PROBE), str(args.work), "--questions", str(args.questions),
                            "--database-url", url], capture_output=True, text=True, check=True)
    run["probe"] = json.loads(probe.stdout.strip().splitlines()[-1])
    print(json.dumps({k: run["probe"][k] for k in ("ask", "rss_mb", "peak_rss_mb", "open_store_s")}))
    print(run.save())


if __name__ == "__main__":
    main()
