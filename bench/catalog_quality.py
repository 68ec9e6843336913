"""Answer quality with the PostgreSQL catalog against SQLite: same questions, same product path.

The lexical search is the one part of answering that the catalog decides (FTS5's ``bm25()`` in
SQLite, BM25 computed in SQL over ``to_tsvector('english')`` lexemes in PostgreSQL; the two
tokenise and stem differently). Each catalog gets a fresh index of the same articles, and the
same questions go through ``qa.ask`` with the shipped reader:
- SQuAD 2.0 dev (``../shared/eval/squad_v2_dev.jsonl``) through ``qa eval`` (``--squad-limit``
  questions, the articles they come from indexed);
- the news dev split (train/ablation.py's: the dev articles' questions and near-misses, all 324
  news articles indexed), first citation.
A throwaway PostgreSQL cluster runs on loopback (tests/services.py).

Usage: python bench/catalog_quality.py [--squad-limit N] [--news-limit N]
"""

from __future__ import annotations

import argparse
import json
import sys

import common

sys.path.insert(0, str(common.REPO / "tests"))
from services import PostgresCluster  # noqa: E402

from index.settings import Settings  # noqa: E402
from qa import evaluate  # noqa: E402
from qa.reader import MODEL_DIR  # noqa: E402
from train import ablation  # noqa: E402

KEYS = ("first_citation_has_answer", "any_citation_has_answer", "abstained_answerable",
        "abstained_unanswerable", "span_f1", "latency_ms_p50")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad-limit", type=int, default=600)
    ap.add_argument("--news-limit", type=int, default=0, help="first N news dev questions (0 = all)")
    args = ap.parse_args()
    run = common.Run("catalog_quality", squad_limit=args.squad_limit, news_limit=args.news_limit)
    print(common.header(run), file=sys.stderr)
    docs, recs = ablation.news_records()
    recs = recs[:args.news_limit] if args.news_limit else recs
    cluster = PostgresCluster().start()
    results: dict = {}
    try:
        for name in ("sqlite", "postgres"):
            s = Settings.from_env(seed_dir=None, chroma_url="", reranker="on",
                                  database_url=cluster.new_database() if name == "postgres" else "")
            squad = evaluate.run(str(common.eval_file("squad_v2_dev.jsonl")), limit=args.squad_limit,
                                 settings=s)
            news = ablation.run(docs, recs, {"shipped": str(MODEL_DIR)}, lambda r: "shipped",
                                steps=(("shipped", "on"),), settings=s)["shipped"]
            results[name] = {"squad": {k: squad[k] for k in KEYS}, "news_dev": {k: news[k] for k in KEYS},
                             "squad_questions": squad["questions"], "news_questions": news["questions"]}
            print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    run["results"] = results
    rows = [[name, ds, f"{100 * r[ds]['first_citation_has_answer']:.1f}",
             f"{100 * r[ds]['any_citation_has_answer']:.1f}", f"{100 * r[ds]['abstained_unanswerable']:.1f}",
             r[ds]["latency_ms_p50"]] for name, r in results.items() for ds in ("squad", "news_dev")]
    print(common.table(rows, ["catalog", "set", "first citation %", "any citation %",
                              "unanswerable abstained %", "ask p50 ms"]))
    print(f"saved {run.save()}", file=sys.stderr)


if __name__ == "__main__":
    main()
