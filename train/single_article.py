"""Single-article questions before/after story-aware answers: the news set's dev questions with
all 324 articles indexed *with their dates and sites* (so that stories form wherever the
grouping finds them, as they would for a user), scored as ``qa eval`` scores.

Runs with whatever ``index``/``qa`` is on the path, so the same command measures an older
revision: ``PYTHONPATH=/tmp/base python -m train.single_article --limit 300`` (after
``git archive REV | tar -x -C /tmp/base``), then without PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from index.settings import Settings
from index.types import Document
from qa import api
from qa.evaluate import score, summarise
from train.mine import load_news, news_split


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=300, help="the first N dev questions (answerable and not)")
    a = ap.parse_args()
    arts = load_news()
    docs = [Document(x["title"], x["text"], f"news:{x['id']}", None, x.get("published"), x.get("site"))
            for x in arts]
    recs = []
    for x in arts:
        if news_split(x["id"]) == "dev":
            recs += [{"question": q["q"], "answers": [q["answer"]]} for q in x["questions"]]
            recs += [{"question": q["q"], "answers": []} for q in x["near_miss"]]
    recs = recs[:a.limit]
    with tempfile.TemporaryDirectory(prefix="qa-single-") as tmp:
        s = replace(Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
        api.open_store(s, seed=False).add_documents(docs)
        rows, lat, texts = [], [], []
        for r in recs:
            t = time.perf_counter()
            ans = api.ask(r["question"], settings=s)
            lat.append(time.perf_counter() - t)
            rows.append(score(r, ans))
            texts.append(ans.text)
        api.close_store(s)
    out = summarise(rows, lat)
    out["answers_digest"] = __import__("hashlib").sha256("\n".join(texts).encode()).hexdigest()[:12]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
