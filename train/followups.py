"""Follow-up questions: does reading the previous turn help or hurt? Measured through ``qa.ask``.

All news articles written here are indexed together, as in ``train.ablation``. Two kinds of pairs:
- leaning (``train/data/followups_calib.jsonl``, ``followups.jsonl`` for dev): a second question
  that cannot be read alone ("and how many were injured?"), asked with the first as history;
- complete: every question of the split's articles short enough to be taken for a follow-up
  (``retrieval_query`` would glue it to the previous turn), asked after a question about
  another article.
Each is scored (first citation holds the answer) with the previous question glued on as before
(``glued``), as the product reads it (``chosen``, ``qa.rerank.keeps_context``), and alone. The
ratio ``CONTEXT_RATIO`` is chosen on the calibration pairs (``ratio <r>`` rows); the dev pairs
are measured only.
Usage: python -m train.followups
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from index.loading import Document
from index.settings import Settings
from qa import api, rerank
from qa.evaluate import score
from qa.retrieve import retrieval_query
from train.mine import ROOT, load_news, news_split

LEANING = {"calib": ROOT / "data" / "followups_calib.jsonl", "dev": ROOT / "data" / "followups.jsonl"}
RATIOS = (0.3, 0.5, 0.7, 1.0)  # tried on the calibration pairs


def pairs(arts: list[dict], split: str) -> dict[str, list[dict]]:
    leaning = [json.loads(x) for x in LEANING[split].read_text(encoding="utf-8").splitlines() if x.strip()]
    qs = [(a["id"], q) for a in arts if news_split(a["id"]) == split for q in a["questions"]]
    complete = []
    for n, (art, q) in enumerate(qs):
        first = next(p["q"] for a, p in qs[n + 1:] + qs[:n] if a != art)
        if retrieval_query(q["q"], [first]) != q["q"]:
            complete.append({"first": first, "second": q["q"], "answer": q["answer"]})
    return {"leaning": leaning, "complete": complete}


def first_hits(items: list[dict], settings: Settings, alone: bool = False) -> float:
    hits = sum(score({"answers": [p["answer"]]},
                     api.ask(p["second"], history=[] if alone else [p["first"]], settings=settings))["first"]
               for p in items)
    return round(100 * hits / max(1, len(items)), 1)


def run() -> dict:
    arts = load_news()
    docs = [Document(a["title"], a["text"], f"news:{a['id']}") for a in arts]
    shipped, keeps = rerank.CONTEXT_RATIO, api.keeps_context
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="qa-followups-") as tmp:
        s = replace(Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
        api.open_store(s, seed=False).add_documents(docs)
        for split in ("calib", "dev"):
            for kind, items in pairs(arts, split).items():
                res: dict = {"pairs": len(items)}
                api.keeps_context = lambda *a: True
                res["glued"] = first_hits(items, s)
                api.keeps_context = keeps
                for r in (RATIOS if split == "calib" else (shipped,)):
                    rerank.CONTEXT_RATIO = r
                    res[f"ratio {r}"] = first_hits(items, s)
                rerank.CONTEXT_RATIO = shipped
                res["alone"] = first_hits(items, s, alone=True)
                out[f"{split} {kind}"] = res
                print(split, kind, res, flush=True)
        api.close_store(s)
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    (ROOT / "results" / "followups.json").write_text(json.dumps(run(), indent=1) + "\n")


if __name__ == "__main__":
    main()
