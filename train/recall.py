"""Candidate recall: how often the retriever's top k holds the labelled answering sentence.

The reader only sees the retriever's best ``rerank_top`` sentences, so an answer missing there
cannot be cited. This builds one index of a written collection and reports recall at 5 to 80
for the answerable questions of a split, by question style, for first-stage sizes given with
``--first`` (how many sentences the dense and the lexical search each propose).

Usage: python -m train.recall [--set v3|news] [--split dev] [--first 40 80]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

from index.loading import Document
from index.store import article_id
from train.mine import NEWS, V3, _store, contains, load_news, news_questions

KS = (5, 10, 20, 30, 40, 80)


def measure(store, qs: list[dict], first: int, event_of: dict[str, str]) -> dict:
    """Recall of the labelled sentence; and (``any``) of any sentence holding the answer in an
    article of the same event (another outlet's telling answers as well)."""
    from qa import retrieve as r
    r.K_DENSE = r.K_BM25 = first
    ranks, anys, t0 = [], [], time.perf_counter()
    for q in qs:
        cands = r.retrieve(store, q["q"], limit=max(KS))
        ranks.append(next((n for n, c in enumerate(cands) if c.text == q["gold"]), None))
        anys.append(next((n for n, c in enumerate(cands) if c.text == q["gold"] or (
            event_of.get(c.article_id) == q["event"] and contains(c.text, q["answers"]))), None))
    ms = (time.perf_counter() - t0) / len(qs) * 1000
    out = {"first": first, "ms_per_question": round(ms, 1), "questions": len(qs)}
    for k in KS:
        out[f"R@{k}"] = round(100 * sum(x is not None and x < k for x in ranks) / len(qs), 1)
    out["any R@20"] = round(100 * sum(x is not None and x < 20 for x in anys) / len(qs), 1)
    by = {}
    for q, x in zip(qs, ranks):
        by.setdefault(q.get("style") or "all", []).append(x)
    out["R@20 by style"] = {s: round(100 * sum(x is not None and x < 20 for x in v) / len(v), 1)
                            for s, v in sorted(by.items())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=["v3", "news"], default="v3")
    ap.add_argument("--split", default="dev", help="dev, calib, train or all")
    ap.add_argument("--first", type=int, nargs="+", default=[40])
    ap.add_argument("--articles", type=int, help="articles searched again (default: qa.retrieve's)")
    ap.add_argument("--article-weight", type=float, help="the article feature's weight")
    a = ap.parse_args(argv)
    from qa import retrieve as r
    if a.articles is not None:
        r.ARTICLES = a.articles
    if a.article_weight is not None:
        r.W["article"] = a.article_weight
    arts = load_news(V3 if a.set == "v3" else NEWS)
    qs = [q for q in news_questions(arts, a.set)
          if q["answerable"] and a.split in ("all", q["split"])]
    with tempfile.TemporaryDirectory(prefix="qa-recall-") as tmp:
        store = _store(tmp)
        store.add_documents([Document(x["title"], x["text"], f"news:{x['id']}") for x in arts])
        event_of = {article_id(x["text"]): x.get("event", x["id"]) for x in arts}
        for q in qs:
            q["event"] = q["event"] or q["qid"].split("/")[0]
        for first in a.first:
            print(json.dumps(measure(store, qs, first, event_of)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
