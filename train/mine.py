"""Candidate dumps: every training and measuring question, with the retriever's own top 20.

The reader is trained on what it will face at run time, so its negatives come from the
product's retriever (``qa.retrieve``) over a whole index of the question's collection, not
from random sentences. Each dump row is one question:

    {"set", "split", "qid", "q", "answers", "gold", "answerable", "cands": [
        {"aid", "index", "title", "text", "features", "score", "label", "span"}]}

``label`` is 1 when the sentence holds the answer (news: the labelled sentence; SQuAD: a gold
answer string; SelQA: its own label), -1 when it is not labelled but another outlet's telling of
the same event holds the answer too (v3; neither a positive nor a negative); ``span`` is the
answer's character span in the sentence.
Collections: the news sets written here (train/data/news split by article, train/data/news_v3
split by event, into train / calib / dev), the SQuAD 2.0 articles of ``../shared/eval`` (two article folds), and SelQA (its own
candidates, no retrieval). Usage: python -m train.mine [--shared DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from index.loading import Document
from index.settings import Settings
from index.store import article_id
from train.dumps import CACHE, save

ROOT = Path(__file__).resolve().parent
NEWS = ROOT / "data" / "news"
V3 = ROOT / "data" / "news_v3"
TOP = 20
# SQuAD articles in two folds of about 600 answerable questions each; a model trained with one
# fold is measured on the other.
SQUAD_FOLDS = {"A": {"Normans", "Force", "Packet switching", "Scottish Parliament"},
               "B": {"Harvard University", "1973 oil crisis", "Imperialism", "Islamism"}}


def news_split(article: str) -> str:
    """dev (a fifth, never trained on), calib (fusion and threshold), or train; by article
    (v3: by event, so that no other outlet's telling of a dev event is trained on)."""
    h = int(hashlib.sha1(article.encode()).hexdigest(), 16) % 20
    return "dev" if h < 4 else "calib" if h < 7 else "train"


def split_of(article: dict) -> str:
    return news_split(article["event"] if "event" in article else article["id"])


def squad_fold(title: str) -> str:
    return next(f for f, titles in SQUAD_FOLDS.items() if title in titles)


def norm(s: str) -> str:
    from qa.evaluate import normalize, _SEPARATORS
    return " " + normalize(_SEPARATORS.sub(" ", s)) + " "


def contains(sentence: str, answers: list[str]) -> bool:
    ns = norm(sentence)
    return any(norm(a).strip() and norm(a) in ns for a in answers)


def find_span(sentence: str, answers: list[str]) -> list[int] | None:
    low = sentence.lower()
    for a in sorted(answers, key=len):
        i = low.find(a.lower())
        if a and i >= 0:
            return [i, i + len(a)]
    return None


def load_news(folder: Path = NEWS) -> list[dict]:
    arts = []
    for f in sorted(folder.glob("*.jsonl")):
        arts += [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
    return arts


def _store(tmp: str):
    from qa import api
    s = replace(Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
    return api.open_store(s, seed=False)


def _mine(store, questions: list[dict], label_fn) -> list[dict]:
    from qa.retrieve import retrieve
    out = []
    t0 = time.time()
    for n, q in enumerate(questions, 1):
        cands = retrieve(store, q["q"], limit=TOP)
        rows = []
        for c in cands:
            label, span = label_fn(q, c)
            rows.append({"aid": c.article_id, "index": c.index, "title": c.title, "text": c.text,
                         "features": c.features, "score": round(c.score, 5), "label": label,
                         "span": span})
        out.append(q | {"cands": rows})
        if n % 500 == 0:
            print(f"  {n}/{len(questions)} questions, {time.time() - t0:.0f} s", file=sys.stderr)
    return out


def mine_news(folder: Path = NEWS, name: str = "news") -> list[dict]:
    """One index of the collection's articles; every question with its top 20."""
    arts = load_news(folder)
    with tempfile.TemporaryDirectory(prefix="qa-mine-") as tmp:
        store = _store(tmp)
        store.add_documents([Document(a["title"], a["text"], f"news:{a['id']}") for a in arts])
        event = {article_id(a["text"]): a.get("event") for a in arts}

        def label(q, c):
            """1: the labelled sentence; -1 (neither answer nor negative): another outlet's
            telling of the same event that holds the answer too."""
            if c.text == q["gold"]:
                return 1, find_span(c.text, q["answers"])
            if q["event"] and event.get(c.article_id) == q["event"] and contains(c.text, q["answers"]):
                return -1, None
            return 0, None
        return _mine(store, news_questions(arts, name), label)


def news_questions(arts: list[dict], name: str = "news") -> list[dict]:
    qs = []
    for a in arts:
        aid, split = article_id(a["text"]), split_of(a)
        common = {"set": name, "split": split, "gold_aid": aid, "title": a["title"],
                  "event": a.get("event"), "format": a.get("format")}
        for i, q in enumerate(a["questions"]):
            qs.append(common | {"qid": f"{a['id']}/q{i}", "q": q["q"], "answers": [q["answer"]],
                                "gold": q["sentence"], "qtype": q["type"], "style": q.get("style"),
                                "answerable": True})
        for i, q in enumerate(a["near_miss"]):
            qs.append(common | {"qid": f"{a['id']}/n{i}", "q": q["q"], "answers": [], "gold": None,
                                "qtype": q["type"], "withheld": bool(q.get("withheld")),
                                "near": q.get("near"), "answerable": False})
    return qs


def mine_squad(path: Path) -> list[dict]:
    from qa.evaluate import documents, load_records
    records = load_records(str(path))
    with tempfile.TemporaryDirectory(prefix="qa-mine-") as tmp:
        store = _store(tmp)
        store.add_documents(documents(records))
        qs = [{"set": "squad", "split": squad_fold(r["title"]), "qid": r["id"], "q": r["question"],
               "answers": r["answers"], "gold": None, "qtype": None,
               "answerable": bool(r["answers"]), "title": r["title"]} for r in records]

        def label(q, c):
            if q["answers"] and contains(c.text, q["answers"]):
                return 1, find_span(c.text, q["answers"])
            return 0, None
        return _mine(store, qs, label)


def load_selqa(folder: Path) -> list[dict]:
    groups: dict[str, dict] = {}
    for name in ("dev.tsv", "test.tsv"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) != 4:
                continue
            qid, q, sent, lab = parts
            g = groups.setdefault(qid, {"set": "selqa", "split": "train", "qid": qid, "q": q,
                                        "answers": [], "answerable": False, "cands": []})
            g["cands"].append({"title": "", "text": sent, "label": int(lab), "span": None})
            g["answerable"] |= lab == "1"
    return list(groups.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent.parent / "shared",
                    help="folder holding eval/ and train/ (default: ../shared)")
    ap.add_argument("--out", type=Path, default=CACHE)
    ap.add_argument("--only", choices=["news", "v3", "squad", "selqa"])
    a = ap.parse_args(argv)
    if a.only in (None, "news"):
        save(mine_news(), a.out / "news.jsonl")
    if a.only in (None, "v3"):
        save(mine_news(V3, "v3"), a.out / "v3.jsonl")
    if a.only in (None, "squad"):
        save(mine_squad(a.shared / "eval" / "squad_v2_dev.jsonl"), a.out / "squad.jsonl")
    if a.only in (None, "selqa"):
        save(load_selqa(a.shared / "train" / "selqa"), a.out / "selqa.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
