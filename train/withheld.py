"""What abstaining on a sentence that withholds the asked detail (``qa.withheld``) changes,
through ``qa.ask``, with the rule off and on in one run.

- news dev: all news articles written here indexed together, the dev articles' questions and
  near-miss questions asked (as ``train.ablation``);
- news v3 (``train/data/news_v3``, when present): its articles indexed together, all its
  near-miss questions and every third answerable one asked (nothing was trained or tuned on
  them), near-misses split by whether the article says the detail is withheld.
Usage: python -m train.withheld
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from index.loading import Document
from index.settings import Settings
from qa import api, extractive
from qa.evaluate import score
from train.mine import ROOT, V3, load_news, news_split


def news_dev() -> tuple[list[Document], list[dict]]:
    arts = load_news()
    qs = [{"q": q["q"], "answers": [q["answer"]], "group": "answerable"}
          for a in arts if news_split(a["id"]) == "dev" for q in a["questions"]]
    qs += [{"q": q["q"], "answers": [], "group": "near-miss"}
           for a in arts if news_split(a["id"]) == "dev" for q in a["near_miss"]]
    return [Document(a["title"], a["text"], f"news:{a['id']}") for a in arts], qs


def news_v3() -> tuple[list[Document], list[dict]]:
    arts = load_news(V3)
    # every third answerable question (1,100 of 3,345): the rule can only cost them an answer
    qs = [{"q": q["q"], "answers": [q["answer"]], "group": "answerable"}
          for a in arts for q in a["questions"]][::3]
    qs += [{"q": q["q"], "answers": [], "group": "near-miss, withheld" if q.get("withheld") else "near-miss"}
           for a in arts for q in a["near_miss"]]
    return [Document(a["title"], a["text"], f"v3:{a['id']}") for a in arts], qs


def run(docs: list[Document], qs: list[dict]) -> dict:
    rule = extractive._withheld
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="qa-withheld-") as tmp:
        s = replace(Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
        api.open_store(s, seed=False).add_documents(docs)
        for way in ("off", "on"):
            extractive._withheld = rule if way == "on" else (lambda *a: None)
            groups: dict[str, list] = {}
            for r in qs:
                ans = api.ask(r["q"], settings=s)
                row = score({"answers": r["answers"]}, ans)
                row["reason"] = ans.abstained and bool(ans.citations)
                groups.setdefault(r["group"], []).append(row)
            out[way] = {g: {"questions": len(rows),
                            "abstained": round(100 * sum(x["abstained"] for x in rows) / len(rows), 1),
                            "with a cited reason": round(100 * sum(x["reason"] for x in rows) / len(rows), 1),
                            **({"first": round(100 * sum(x["first"] for x in rows) / len(rows), 1)}
                               if "first" in rows[0] else {})}
                        for g, rows in groups.items()}
            print(way, json.dumps(out[way]), flush=True)
        extractive._withheld = rule
        api.close_store(s)
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    res = {}
    for name, load in (("news dev", news_dev), ("news v3", news_v3)):
        docs, qs = load()
        if docs:
            print(name, flush=True)
            res[name] = run(docs, qs)
    (ROOT / "results" / "withheld.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
