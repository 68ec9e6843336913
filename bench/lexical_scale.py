"""The lexical search alone, SQLite FTS5 against BM25 in PostgreSQL, as the catalog grows.

Only the catalogs are built (articles, sentences, lexical index; no vectors, so nothing is
embedded): the same articles into each, with ``commit_articles`` in batches; then the retriever's
two lexical calls per question (``bm25`` top 40 and ``doc_freq``) are timed for ``--questions``
questions, alternating catalogs. PostgreSQL runs as a throwaway cluster on loopback (fsync on).

    python bench/lexical_scale.py [--sizes 1000 10000] [--questions 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import common

sys.path.insert(0, str(common.REPO / "tests"))
from services import PostgresCluster  # noqa: E402

from index.catalog import SQLiteCatalog, query_terms  # noqa: E402
from index.pg_catalog import PostgresCatalog  # noqa: E402
from index.sentences import split_sentences  # noqa: E402
from index.store import article_id  # noqa: E402
from index.types import Article  # noqa: E402

BATCH = 500


def articles(n: int) -> list[Article]:
    return [Article(article_id(d.text), d.title, d.text, d.source, None, None, None, None,
                    sentences=tuple(split_sentences(d.text, article_id(d.text)))) for d in common.corpus(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    run = common.Run("lexical_scale", sizes=args.sizes, questions=args.questions)
    print(common.header(run), file=sys.stderr)
    terms = [query_terms(q) for q in common.questions(args.questions)]
    cluster = PostgresCluster(durable=True).start()
    out = []
    try:
        with tempfile.TemporaryDirectory(prefix="qa-lexical-") as tmp:
            arts = articles(max(args.sizes))
            for n in args.sizes:
                cats = {"sqlite": SQLiteCatalog(Path(tmp) / f"{n}.sqlite3"),
                        "postgres": PostgresCatalog(cluster.new_database())}
                row = {"articles": n, "sentences": sum(len(a.sentences) for a in arts[:n])}
                for name, cat in cats.items():
                    t = time.perf_counter()
                    for i in range(0, n, BATCH):
                        cat.commit_articles(arts[i:i + BATCH], [])
                    row[f"{name}_write_s"] = round(time.perf_counter() - t, 1)
                    for t in terms[:5]:  # warm
                        cat.bm25(t, 40), cat.doc_freq(t)
                times: dict[str, list[float]] = {k: [] for k in cats}
                for t in terms:
                    for name, cat in cats.items():
                        secs, _ = common.timed(lambda: (cat.bm25(t, 40), cat.doc_freq(t)))
                        times[name].append(secs)
                for name in cats:
                    s = common.ms_summary(times[name])
                    row[f"{name}_p50_ms"], row[f"{name}_p95_ms"] = s["p50_ms"], s["p95_ms"]
                cats["postgres"].close()
                out.append(row)
                print(row, file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    run["results"] = out
    print(common.table([[r["articles"], r["sentences"], r["sqlite_p50_ms"], r["sqlite_p95_ms"],
                         r["postgres_p50_ms"], r["postgres_p95_ms"], r["sqlite_write_s"], r["postgres_write_s"]]
                        for r in out],
                       ["articles", "sentences", "FTS5 p50 ms", "FTS5 p95 ms", "PostgreSQL p50 ms",
                        "PostgreSQL p95 ms", "FTS5 write s", "PostgreSQL write s"]))
    print(f"saved {run.save()}", file=sys.stderr)


if __name__ == "__main__":
    main()
