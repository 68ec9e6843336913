"""The physical floor on this machine: what one ask cannot go below.

Measures, on the same model and store the project uses:
- the embedding model alone, batched (sentences/s: the ceiling for ingest) and for one query;
- one vector search in Chroma asking only for ids and distances (the floor for dense search),
  and the same search as a numpy brute-force dot product over all vectors in memory;
- one BM25 query in SQLite FTS5;
for each data folder given (default: the folders bench/scale.py leaves in /tmp/qa-bench/scale).

    python bench/floor.py [DATA_DIR ...] [--queries 200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import common
from index.catalog import query_terms
from index.embeddings import PackagedEmbedding
from index.store import Store
from index.settings import Settings

WORK = Path("/tmp/qa-bench/scale")


def lat(fn, args_list) -> dict:
    fn(args_list[0])
    ts = []
    for a in args_list:
        t = time.perf_counter()
        fn(a)
        ts.append(time.perf_counter() - t)
    return common.ms_summary(ts)


def model(texts: list[str], qs: list[str]) -> dict:
    emb = PackagedEmbedding("minilm")
    emb.embed_many(texts[:64])
    t, c = time.perf_counter(), time.process_time()
    emb.embed_many(texts)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return {"batch_texts": len(texts), "batch_sentences_per_s": round(len(texts) / dt, 1),
            "batch_cpu_ms_per_sentence": round(1000 * dc / len(texts), 2),
            "query": lat(emb.embed_query, qs), "load": common.load_average()}


def store_floor(data_dir: Path, qs: list[str]) -> dict:
    store = Store(Settings(data_dir=data_dir, seed_dir=None))
    vecs = [store.embedder.embed_query(q) for q in qs]
    coll = store.vectors._coll
    got = coll.get(include=["embeddings"])
    matrix = np.asarray(got["embeddings"], dtype=np.float32)
    terms = [query_terms(q) for q in qs]
    return {
        "data_dir": str(data_dir), "articles": store.catalog.count(), "vectors": len(matrix),
        "chroma_query_ids_distances": lat(lambda v: coll.query(query_embeddings=[v.tolist()], n_results=40,
                                                               include=["distances"]), vecs),
        "vector_index_search": lat(lambda v: store.vectors.search(v, 40), vecs),
        "numpy_bruteforce_top40": lat(lambda v: np.argpartition(-(matrix @ v), 40)[:40], vecs),
        "bm25_top40": lat(lambda t: store.catalog.bm25(t, 40), terms),
        "load": common.load_average(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dirs", nargs="*", type=Path)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    dirs = args.data_dirs or [d for d in (WORK / "data-100", WORK / "data-1000", WORK / "data") if d.is_dir()]
    run = common.Run("floor", queries=args.queries)
    print(common.header(run), flush=True)
    qs = common.questions(args.queries)
    docs = common.corpus(400)
    texts = [f"{d.title}: {s}" for d in docs for s in d.text.split(". ")][:2000]
    run["model"] = m = model(texts, qs)
    print(f"model alone: {m['batch_sentences_per_s']} sentences/s batched "
          f"({m['batch_cpu_ms_per_sentence']} CPU ms each); one query p50 {m['query']['p50_ms']} ms", flush=True)
    run["stores"] = []
    for d in dirs:
        f = store_floor(d, qs)
        run["stores"].append(f)
        run.save()
        print(f"{f['articles']:>6} articles / {f['vectors']} vectors: chroma query p50 "
              f"{f['chroma_query_ids_distances']['p50_ms']} ms, VectorIndex.search p50 "
              f"{f['vector_index_search']['p50_ms']} ms, numpy brute force p50 "
              f"{f['numpy_bruteforce_top40']['p50_ms']} ms, BM25 p50 {f['bm25_top40']['p50_ms']} ms", flush=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
