"""Two ``qa serve`` replicas on one PostgreSQL catalog and one Chroma server, with a kill -9.

On loopback: a throwaway PostgreSQL cluster (fsync on), ``chroma run``, replicas A and B.
1. ingest ``--articles`` records through A (POST /api/v1/articles), then ask ``--questions``
   questions through both: B must cite what A cites (answered by B at once, no sync step);
2. post a second batch to A and ``kill -9`` A while it writes (pending marks in the catalog,
   the batch's vectors in Chroma);
   meanwhile B keeps answering (its latencies and errors are recorded);
3. count per article the sentences in PostgreSQL and the sentences covered by vectors in
   Chroma (no article may be half there), restart A (time until it answers), count again
   (the restart must have removed the killed batch's leftovers), and post the batch again.

    python bench/replicas.py [--articles 200] [--questions 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import common

sys.path.insert(0, str(common.REPO / "tests"))
from services import (ChromaServer, PostgresCluster, Replica, half_there, shared_state,  # noqa: E402
                      stray_vectors, vector_collection)


def records(docs) -> list[dict]:
    return [{"title": d.title, "text": d.text} for d in docs]


def pending(url: str) -> int:
    import psycopg
    with psycopg.connect(url, autocommit=True) as c:
        return c.execute("select count(*) from pending").fetchone()[0]


def cites(reply: dict) -> list:
    return [(c["article_id"], c["start"], c["end"]) for c in reply["citations"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--questions", type=int, default=30)
    args = ap.parse_args()
    run = common.Run("replicas", articles=args.articles, questions=args.questions)
    print(common.header(run), file=sys.stderr)
    docs = common.corpus(2 * args.articles)
    first, second = records(docs[:args.articles]), records(docs[args.articles:])
    qs = common.questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="qa-replicas-") as tmp:
        tmp = Path(tmp)
        cluster = PostgresCluster(durable=True).start()
        chroma = ChromaServer(tmp / "chroma").start()
        url = cluster.new_database()
        a, b = (Replica(n, url, chroma.url, tmp / n / "data") for n in "ab")
        try:
            for r in (a, b):
                secs, _ = common.timed(r.start)
                run[f"start_{r.name}_s"] = round(secs, 1)
            secs, _ = common.timed(a.post, "/api/v1/articles", {"records": first})
            run["ingest_through_a_s"] = round(secs, 1)
            same = sum(cites(a.post("/api/v1/ask", {"question": q})) ==
                       cites(b.post("/api/v1/ask", {"question": q})) for q in qs)
            run["same_citations_a_b"] = f"{same}/{len(qs)}"

            threading.Thread(target=lambda: _quiet(a.post, "/api/v1/articles", {"records": second}),
                             daemon=True).start()
            # kill once the batch's vectors have landed in Chroma (its rows not committed yet, or
            # just committed): the worst moment, leaving vectors no article owns
            vectors = vector_collection(url, chroma.url)
            before = vectors.count()
            while pending(url) == 0 or vectors.count() == before:
                time.sleep(0.005)
            a.kill9()
            killed = shared_state(url, chroma.url)
            run["after_kill"] = {"articles": len(killed["sentences"]), "pending": len(killed["pending"]),
                                 "half_there": half_there(killed), "stray_vector_articles": stray_vectors(killed)}
            lat, errors = [], 0
            for q in qs:  # B alone now
                try:
                    secs, _ = common.timed(b.post, "/api/v1/ask", {"question": q})
                    lat.append(secs)
                except OSError:
                    errors += 1
            run["b_while_a_dead"] = {**common.ms_summary(lat), "errors": errors}
            secs, _ = common.timed(a.start)
            run["restart_a_s"] = round(secs, 1)
            repaired = shared_state(url, chroma.url)
            run["after_restart"] = {"articles": len(repaired["sentences"]), "pending": len(repaired["pending"]),
                                    "half_there": half_there(repaired),
                                    "stray_vector_articles": stray_vectors(repaired)}
            secs, _ = common.timed(a.post, "/api/v1/articles", {"records": second})
            run["second_ingest_after_restart_s"] = round(secs, 1)
            final = shared_state(url, chroma.url)
            run["final"] = {"articles": len(final["sentences"]), "half_there": half_there(final)}
        finally:
            for r in (a, b):
                r.stop()
            chroma.stop()
            cluster.stop()
    for k in ("same_citations_a_b", "after_kill", "b_while_a_dead", "restart_a_s", "after_restart", "final"):
        print(f"{k}: {run[k]}")
    print(f"saved {run.save()}", file=sys.stderr)


def _quiet(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass  # A is killed mid-request


if __name__ == "__main__":
    main()
