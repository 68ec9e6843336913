"""Ask latency through the shared stores (PostgreSQL catalog + Chroma server) against the
embedded ones (SQLite + embedded Chroma), same 1,000 articles, same questions, one run.

The articles are embedded once, into the embedded store; the shared stores get a copy of the
same catalog rows and the same vectors (so both must cite the same sentences, which is checked),
on a throwaway PostgreSQL cluster (fsync on) and ``chroma run``, both on loopback. Asks go
through ``qa.ask`` (reader on, as shipped), alternating embedded / shared question by question
so load from other jobs falls on both alike.

    python bench/shared_stores.py [--articles 1000] [--questions 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import common

sys.path.insert(0, str(common.REPO / "tests"))
from services import ChromaServer, PostgresCluster  # noqa: E402

from index.settings import Settings  # noqa: E402
from qa import api  # noqa: E402

COPY_BATCH = 500


def copy_stores(src, dst) -> None:
    """The embedded store's articles and vectors into the shared stores, as they are."""
    ids = [a.id for a in src.catalog.list()]
    for i in range(0, len(ids), COPY_BATCH):
        dst.catalog.commit_articles([src.catalog.get(a) for a in ids[i:i + COPY_BATCH]], [])
    dst.catalog.set_meta("embed_model", src.settings.embed_model)
    got = src.vectors._coll.get(include=["embeddings", "documents", "metadatas"])
    for i in range(0, len(got["ids"]), 2000):
        sl = slice(i, i + 2000)
        dst.vectors._coll.add(ids=got["ids"][sl], embeddings=got["embeddings"][sl],
                              documents=got["documents"][sl], metadatas=got["metadatas"][sl])


def digest(answer) -> str:
    return hashlib.sha1(repr([(c.article_id, c.start, c.end) for c in answer.citations]).encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    run = common.Run("shared_stores", articles=args.articles, questions=args.questions, rounds=args.rounds)
    print(common.header(run), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="qa-shared-") as tmp:
        tmp = Path(tmp)
        embedded = Settings(data_dir=tmp / "embedded", seed_dir=None)
        store = api.open_store(embedded, seed=False)
        secs, _ = common.timed(store.add_documents, common.corpus(args.articles))
        run["embedded_ingest_s"] = round(secs, 1)
        cluster = PostgresCluster(durable=True).start()
        chroma = ChromaServer(tmp / "chroma-server").start()
        try:
            shared = Settings(data_dir=tmp / "replica", seed_dir=None, database_url=cluster.new_database(),
                              chroma_url=chroma.url)
            secs, _ = common.timed(copy_stores, store, api.open_store(shared, seed=False))
            run["copy_s"] = round(secs, 1)
            qs = common.questions(args.questions)
            for q in qs[:5]:  # warm both: models, caches, connections
                api.ask(q, settings=embedded), api.ask(q, settings=shared)
            times: dict[str, list[float]] = {"embedded": [], "shared": []}
            same = 0
            for _ in range(args.rounds):
                for q in qs:
                    t_e, a_e = common.timed(api.ask, q, settings=embedded)
                    t_s, a_s = common.timed(api.ask, q, settings=shared)
                    times["embedded"].append(t_e)
                    times["shared"].append(t_s)
                    same += digest(a_e) == digest(a_s)
            api.close_store(shared)
        finally:
            chroma.stop()
            cluster.stop()
        api.close_store(embedded)
    run["results"] = {k: common.ms_summary(v) for k, v in times.items()}
    run["same_citations"] = f"{same}/{len(times['shared'])}"
    rows = [[k, v["n"], v["p50_ms"], v["p95_ms"], v["mean_ms"]] for k, v in run["results"].items()]
    print(common.table(rows, ["stores", "asks", "p50 ms", "p95 ms", "mean ms"]))
    print(f"same citations: {run['same_citations']}; load {run.data['load_start']} -> "
          f"{common.load_average()}", file=sys.stderr)
    print(f"saved {run.save()}", file=sys.stderr)


if __name__ == "__main__":
    main()
