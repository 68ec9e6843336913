"""Helpers shared by the reliability tests: a snapshot of everything the index holds."""

from __future__ import annotations

import json

from index.store import Store


def index_state(store: Store) -> dict:
    """Every record kind the index keeps, counted per article, plus pending marks."""
    c = store.catalog
    articles = sorted(a.id for a in c.list())
    sentences = c.sentence_counts()
    fts = c.lexical_count()
    got = store.vectors._coll.get(include=["metadatas"])
    vectors: dict[str, int] = {}
    for meta in got["metadatas"]:
        vectors[meta["article_id"]] = vectors.get(meta["article_id"], 0) + len(
            json.loads(meta["sentence_ids"]))
    return {"articles": articles, "sentences": sentences, "fts": fts, "vectors": vectors,
            "pending": store.catalog.pending()}


def consistency_problems(store: Store) -> list[str]:
    """What would make an answer wrong: listed articles with records missing, or stray ones."""
    st = index_state(store)
    problems = []
    for a in st["articles"]:
        art = store.catalog.get(a)
        n = len(art.sentences)
        if n == 0:
            problems.append(f"{a}: no sentences")
        if st["sentences"].get(a, 0) != n or st["vectors"].get(a, 0) != n:
            problems.append(f"{a}: {n} sentences, {st['vectors'].get(a, 0)} vectors")
        for s in art.sentences:
            if art.text[s.start:s.end] != s.text or not s.text.strip():
                problems.append(f"{a}:{s.index}: bad offsets")
    if st["fts"] != sum(st["sentences"].values()):
        problems.append(f"{st['fts']} BM25 rows for {sum(st['sentences'].values())} sentences")
    listed = set(st["articles"])
    orphans = set(st["sentences"]) - listed
    if orphans:
        problems.append(f"sentences of unlisted articles {sorted(orphans)}")
    stray = set(st["vectors"]) - listed - set(st["pending"])
    if stray:
        problems.append(f"vectors of unlisted articles {sorted(stray)}")
    return problems
