"""This project vs the pipeline a user would otherwise write with LlamaIndex, side by side.

Same articles (the SQuAD file's, one per title, paragraphs joined, as ``qa eval`` builds
them), same embedding model (the packaged MiniLM, which reads at most 128 tokens), both on an
embedded Chroma on disk, in one process, one after the other:

- ours: ``Store.add_documents`` then ``qa.ask`` (extractive, no LLM); the first cited source is
  a sentence;
- theirs: ``VectorStoreIndex`` over ``ChromaVectorStore`` with its default ``SentenceSplitter``
  (1,024-token chunks, 200 overlap), ``CitationQueryEngine`` with its defaults (retriever
  top-2, sources re-split into 512-token numbered "Source n:" chunks) and no LLM: the answer's
  sources are its retrieved, numbered chunks; the first cited source is "Source 1".

Reported: ingest time, index size on disk, ask latency p50/p95 (warm), and how often the
first source (and any of the first three) contains a gold answer, on the answerable questions.

    python bench/vs_llamaindex.py [--limit N]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import common
from qa import api
from qa.evaluate import _contains
from index.settings import Settings


def ours(docs, records, tmp: Path) -> dict:
    s = Settings(data_dir=tmp / "ours", seed_dir=None)
    store = api.open_store(s, seed=False)
    t = time.perf_counter()
    store.add_documents(docs)
    ingest = time.perf_counter() - t
    api.ask(records[0]["question"], settings=s)
    lat, first, any3, lens = [], [], [], []
    for r in records:
        t = time.perf_counter()
        a = api.ask(r["question"], settings=s)
        lat.append(time.perf_counter() - t)
        srcs = [c.sentence for c in a.citations]
        first.append(bool(srcs) and _contains(srcs[0], r["answers"]))
        any3.append(any(_contains(x, r["answers"]) for x in srcs[:3]))
        lens.append(len(srcs[0]) if srcs else 0)
    api.close_store(s)
    sentences = sum(store.catalog.sentence_counts().values())
    return {"unit": "sentence", "records": sentences, "ingest_s": round(ingest, 2),
            "disk_mb": common.disk_mb(tmp / "ours"), "ask": common.ms_summary(lat),
            "first_source_has_answer": round(statistics.fmean(first), 4),
            "top3_sources_have_answer": round(statistics.fmean(any3), 4),
            "first_source_mean_chars": round(statistics.fmean(lens)), "load": common.load_average()}


def theirs(docs, records, tmp: Path) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.query_engine import CitationQueryEngine
    from llama_index.core.schema import QueryBundle
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embeddings import PackagedEmbedding

    emb = PackagedEmbedding("minilm")
    client = chromadb.PersistentClient(path=str(tmp / "theirs"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    coll = client.get_or_create_collection("articles", embedding_function=None)
    t = time.perf_counter()
    index = VectorStoreIndex.from_documents(
        [Document(text=d.text, metadata={"title": d.title}) for d in docs],
        storage_context=StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=coll)),
        embed_model=emb, transformations=[SentenceSplitter()])
    ingest = time.perf_counter() - t
    engine = CitationQueryEngine.from_args(index, llm=MockLLM())  # the LLM is never called

    def ask(q: str) -> list[str]:
        nodes = engine._create_citation_nodes(engine.retrieve(QueryBundle(q)))
        return [n.node.get_content().split("\n", 1)[1] for n in nodes]

    ask(records[0]["question"])
    lat, first, any3, lens = [], [], [], []
    for r in records:
        t = time.perf_counter()
        srcs = ask(r["question"])
        lat.append(time.perf_counter() - t)
        first.append(bool(srcs) and _contains(srcs[0], r["answers"]))
        any3.append(any(_contains(x, r["answers"]) for x in srcs[:3]))
        lens.append(len(srcs[0]) if srcs else 0)
    return {"unit": "chunk (SentenceSplitter 1024 tokens; cited as 512-token sources)",
            "records": coll.count(), "ingest_s": round(ingest, 2), "disk_mb": common.disk_mb(tmp / "theirs"),
            "ask": common.ms_summary(lat), "first_source_has_answer": round(statistics.fmean(first), 4),
            "top3_sources_have_answer": round(statistics.fmean(any3), 4),
            "first_source_mean_chars": round(statistics.fmean(lens)), "load": common.load_average()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="a fixed random sample of N answerable questions")
    args = ap.parse_args()
    docs, records = common.squad_documents()
    records = [r for r in records if r.get("answers")]
    if args.limit:
        records = random.Random(3).sample(records, args.limit)
    run = common.Run("vs_llamaindex", articles=len(docs), questions=len(records))
    print(common.header(run), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="qa-vs-li-"))
    try:
        run["theirs"] = theirs(docs, records, tmp)
        print("theirs:", run["theirs"], flush=True)
        run["ours"] = ours(docs, records, tmp)
        print("ours:  ", run["ours"], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for name, r in (("qa-news (this project)", run["ours"]), ("LlamaIndex default pipeline", run["theirs"])):
        rows.append([name, r["unit"], r["records"], r["ingest_s"], r["disk_mb"], r["ask"]["p50_ms"],
                     r["ask"]["p95_ms"], f"{100 * r['first_source_has_answer']:.1f}%",
                     f"{100 * r['top3_sources_have_answer']:.1f}%", r["first_source_mean_chars"]])
    print(common.table(rows, ["pipeline", "cited source", "records", "ingest s", "disk MB", "ask p50 ms",
                              "ask p95 ms", "first source has answer", "top-3 sources", "source chars"]))
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
