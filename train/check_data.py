"""Check every label of the news QA sets written here (train/data/news/*.jsonl, and the longer
real-news-shaped train/data/news_v3/*.jsonl).

One article per line:
  {"id": "pol-001", "beat": "politics", "title": ..., "site": ..., "published": "2025-03-19",
   "text": "paragraphs separated by blank lines",
   "questions": [{"q": ..., "sentence": <verbatim sentence of text>, "answer": <verbatim span of it>,
                  "type": "how many|how much|who|when|where|what|which|why|how"}],
   "near_miss": [{"q": ..., "type": ..., "why": <what the article lacks>}]}

v3 articles also carry "event" (the articles of other outlets on the same event share it),
"format", each question a "style" (short|paraphrase|deep|confuser), and each near-miss may carry
"withheld" (the article says the detail is withheld) and "near" (a verbatim sentence of it).

Checks: the sentence is one sentence of the article as the product splits it, the answer is
inside that sentence, ids are unique, sizes are in range (12-45 sentences; 12-150 in v3). Prints one line per problem and a
summary; exit status 1 when anything is wrong. Usage: python -m train.check_data [FILES...]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from index.sentences import split_sentences

DATA = Path(__file__).resolve().parent / "data" / "news"
V3 = DATA.parent / "news_v3"
STYLES = {"short", "paraphrase", "deep", "confuser"}
TYPES = {"how many", "how much", "who", "when", "where", "what", "which", "why", "how"}


def check_article(a: dict) -> list[str]:
    errs = []
    for key in ("id", "beat", "title", "site", "published", "text", "questions", "near_miss"):
        if key not in a:
            errs.append(f"missing field {key!r}")
    if errs:
        return errs
    sents = split_sentences(a["text"])
    texts = {s.text for s in sents}
    v3 = "event" in a
    most = 150 if v3 else 45
    if not 12 <= len(sents) <= most:
        errs.append(f"{len(sents)} sentences (want 12-{most})")
    if v3 and a.get("format") is None:
        errs.append("missing field 'format'")
    for n, q in enumerate(a["questions"]):
        if not q.get("q", "").strip().endswith("?"):
            errs.append(f"question {n}: 'q' must be a question ending in '?'")
        if q.get("sentence") not in texts:
            errs.append(f"question {n}: sentence is not one sentence of the text as split: {q.get('sentence')!r:.90}")
        elif not q.get("answer") or q["answer"] not in q["sentence"]:
            errs.append(f"question {n}: answer {q.get('answer')!r} is not inside its sentence")
        if q.get("type") not in TYPES:
            errs.append(f"question {n}: type {q.get('type')!r} not in {sorted(TYPES)}")
        if v3 and q.get("style") not in STYLES:
            errs.append(f"question {n}: style {q.get('style')!r} not in {sorted(STYLES)}")
    for n, q in enumerate(a["near_miss"]):
        if not q.get("q", "").strip().endswith("?") or not q.get("why"):
            errs.append(f"near_miss {n}: needs 'q' ending in '?' and 'why'")
        if q.get("type") not in TYPES:
            errs.append(f"near_miss {n}: type {q.get('type')!r} not in {sorted(TYPES)}")
        if q.get("near") and q["near"] not in texts:
            errs.append(f"near_miss {n}: 'near' is not one sentence of the text: {q['near']!r:.90}")
    return errs


def load(files: list[Path]) -> list[dict]:
    out = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line) | {"_where": f"{f.name}:{n}"})
                except json.JSONDecodeError as e:
                    out.append({"_where": f"{f.name}:{n}", "_bad": str(e)})
    return out


def main(argv: list[str]) -> int:
    files = [Path(p) for p in argv] or sorted(DATA.glob("*.jsonl")) + sorted(V3.glob("*.jsonl"))
    arts = load(files)
    bad = 0
    ids = Counter(a.get("id") for a in arts)
    for a in arts:
        errs = [f"not JSON: {a['_bad']}"] if "_bad" in a else check_article(a)
        if ids[a.get("id")] > 1:
            errs.append(f"id {a.get('id')!r} used {ids[a.get('id')]} times")
        for e in errs:
            print(f"{a['_where']} [{a.get('id')}]: {e}")
        bad += bool(errs)
    ok = [a for a in arts if "_bad" not in a]
    nq = sum(len(a.get("questions", [])) for a in ok)
    nm = sum(len(a.get("near_miss", [])) for a in ok)
    types = Counter(q.get("type") for a in ok for q in a.get("questions", []))
    print(f"{len(arts)} articles ({bad} with problems), {nq} questions, {nm} near-miss; "
          f"beats {dict(Counter(a.get('beat') for a in ok))}; types {dict(types)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
