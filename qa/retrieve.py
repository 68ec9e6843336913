"""Hybrid retrieval scored at sentence level.

Dense (Chroma) and BM25 (SQLite FTS5) each propose candidates; every candidate sentence is then
scored on features a reader would look at: how similar it is to the question (dense), how much
of the question's weighted vocabulary it holds alone and with its neighbours, its ranks in
both lists (reciprocal-rank fusion), whether it contains a new thing of the asked-for type
(a number for "how many"), and whether the question's words stay together in it (see
``qa.lexical`` for stems and misspellings). The weights are few and set by hand on principle;
refitting them on half of SQuAD's articles did not improve the other half, so they are kept
as they are rather than fitted to a benchmark.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from index.catalog import query_terms
from index.sentences import is_furniture
from index.store import Store
from index.types import Scope
from qa.lexical import coverage, fuzzy_matches, pairs_near, stem, stems
from qa.spans import answer_type, type_spans

K_DENSE = 40
K_BM25 = 40
RRF_K = 20
# the articles the first searches point to most are searched again on their own, so that a
# sentence sharing few words with the question still competes when its article is the one asked
# about (a paraphrase's answer is often far down the whole index's dense list)
ARTICLES, K_ARTICLE = 3, 30

# weights of the linear sentence score (all features are in [0, 1])
W = {"dense": 1.0, "cover": 1.2, "cover_ctx": 0.4, "rrf": 0.6, "typed": 0.35, "pairs": 0.3,
     "article": 0.3}


@dataclass
class Candidate:
    article_id: str
    index: int
    title: str
    start: int
    end: int
    paragraph: int
    text: str
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0  # the retriever's linear score
    prob: float | None = None  # set by qa.rerank: probability that this sentence answers
    span: tuple[int, int] | None = None  # set by qa.rerank: the answer inside ``text``
    published: str | None = None  # the article's date and site, set for the generative prompt
    site: str | None = None


def confidence(c: "Candidate") -> float:
    """0..1: how much of the question the best sentence (with its neighbours) accounts for."""
    f = c.features
    lexical = max(f["cover"], 0.8 * f["cover_ctx"])
    semantic = min(1.0, max(0.0, (f["dense"] - 0.15) / 0.45))
    return round(0.55 * lexical + 0.45 * semantic, 4)


def retrieval_query(question: str, history: list[str]) -> str:
    """The question, plus the previous question when this one leans on it ("And how long...?")."""
    if not history:
        return question
    follow_up = re.match(r"^\s*(and|but|what about|how about|also|then|so)\b", question, re.I) or \
        re.search(r"\b(it|its|they|them|their|he|she|his|her|him|that|this|those|these|there)\b", question, re.I) \
        or len(query_terms(question)) <= 2
    return f"{history[-1]} {question}" if follow_up else question


def top_articles(*ranked: dict[tuple[str, int], int]) -> list[str]:
    """Articles by the reciprocal ranks of their sentences in the first searches, summed."""
    score: dict[str, float] = {}
    for ranks in ranked:
        for (a, _), r in ranks.items():
            score[a] = score.get(a, 0.0) + 1 / (RRF_K + r)
    return sorted(score, key=lambda a: -score[a])


def retrieve(store: Store, question: str, *, history: list[str] | None = None,
             scope: Scope | None = None, limit: int = 10) -> list[Candidate]:
    """Candidate sentences, best first, from the articles in ``scope`` (articles, dates, sites;
    applied inside both searches, so a narrow scope still finds its best sentences)."""
    query = retrieval_query(question, history or [])
    terms = query_terms(query)
    qvec = store.embedder.embed_query(query)
    dense = store.vectors.search(qvec, K_DENSE, scope)
    lexical = store.catalog.bm25(terms, K_BM25, scope)
    ranks_d = {(a, i): r for r, (a, i, _) in enumerate(dense)}
    ranks_b = {(a, i): r for r, (a, i, _) in enumerate(lexical)}
    cos = {(a, i): s for a, i, s in dense}
    articles = top_articles(ranks_d, ranks_b)
    if ARTICLES and len(articles) > 1:  # (with one article, the whole index is that article)
        for a, i, s in store.vectors.search_articles(qvec, K_ARTICLE, articles[:ARTICLES]):
            cos.setdefault((a, i), s)
    article_rank = {a: r for r, a in enumerate(articles[:ARTICLES])}
    keys = list(dict.fromkeys([*ranks_d, *ranks_b, *cos]))
    if not keys:
        return []
    rows = store.catalog.sentences_around(keys)
    n, df = store.catalog.doc_freq(terms)
    idf = {stem(t): math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms}
    qtype = answer_type(question)
    q_seq = [stem(t) for t in terms]
    pairs = {(a, b) for a, b in zip(q_seq, q_seq[1:])}
    missing_cos = min(cos.values()) if cos else 0.0
    words = {k: stems(row[4]) for k, row in rows.items()}  # each sentence stemmed once
    title_words = {t: set(stems(t)) for t in {row[0] for row in rows.values()}}
    fuzzy = fuzzy_matches(idf, set().union(*map(set, words.values()), *title_words.values()))
    out = []
    for key in keys:
        if key not in rows:  # vector of an article removed meanwhile
            continue
        title, start, end, para, text = rows[key]
        if is_furniture(text):
            continue
        s_seq = words[key]
        s_stems = set(s_seq)
        c_stems = s_stems.union(title_words[title], *(words.get((key[0], key[1] + d), ()) for d in (-1, 1)))
        f = {
            "dense": max(0.0, cos.get(key, missing_cos)),
            "cover": coverage(idf, s_stems, fuzzy),
            "cover_ctx": coverage(idf, c_stems, fuzzy),
            # reciprocal-rank fusion, scaled so 1.0 = ranked first in both lists
            "rrf": RRF_K / 2 * ((1 / (RRF_K + ranks_d[key]) if key in ranks_d else 0.0)
                                + (1 / (RRF_K + ranks_b[key]) if key in ranks_b else 0.0)),
            "typed": 1.0 if type_spans(text, qtype, question) else 0.0,
            "pairs": pairs_near(pairs, s_seq),
            "article": 1 / (1 + article_rank[key[0]]) if key[0] in article_rank else 0.0,
        }
        c = Candidate(key[0], key[1], title, start, end, para, text, f)
        c.score = sum(W[k] * v for k, v in f.items())
        out.append(c)
    out.sort(key=lambda c: -c.score)
    return out[:limit]
