"""Check the developing-stories set (train/data/stories/NN_slug.json), one story per file.

Format: /work/briefs/stories-format.md, summarised in train/data/README.md. Checks: fields and
kinds; the split (dev when NN is divisible by 3); 3-5 articles from at least 2 sites, dates
ascending; unique article ids (NNa, NNb...) and urls; every "sentence" is one sentence of its
article as the product splits it and holds its "answer"; a latest question's "older" values
come from articles published no later than its own; an as-of question's article is published on or before its
"until"; a timeline lists the story's articles in date order; every question's "today" is an
ISO day on or after what it asks about. Prints one line per problem and a summary; exit status
1 when anything is wrong. Usage: python -m train.check_stories [FILES...]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from index.sentences import split_sentences

DATA = Path(__file__).resolve().parent / "data" / "stories"
KINDS = ("latest", "asof", "disagreement", "timeline")


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def check_story(path: Path, story: dict, seen_urls: Counter) -> list[str]:
    errs = []
    m = re.fullmatch(r"(\d\d)_[a-z0-9_]+", path.stem)
    if not m:
        errs.append("file name must be NN_slug.json")
    for key in ("story", "split", "event", "articles", "questions"):
        if key not in story:
            errs.append(f"missing field {key!r}")
    if errs:
        return errs
    nn = int(m.group(1))
    if story["story"] != path.stem:
        errs.append(f"story {story['story']!r} is not the file name {path.stem!r}")
    if story["split"] != ("dev" if nn % 3 == 0 else "train"):
        errs.append(f"split {story['split']!r}: NN {nn:02d} is {'dev' if nn % 3 == 0 else 'train'}")
    arts = story["articles"]
    if not 3 <= len(arts) <= 5:
        errs.append(f"{len(arts)} articles (want 3-5)")
    by_id, sentences = {}, {}
    for n, a in enumerate(arts):
        want = f"{nn:02d}{'abcde'[n] if n < 5 else '?'}"
        for key in ("id", "site", "url", "published", "author", "title", "text"):
            if not isinstance(a.get(key), str) or not a.get(key).strip():
                errs.append(f"article {n}: missing or empty {key!r}")
        if a.get("id") != want:
            errs.append(f"article {n}: id {a.get('id')!r}, want {want!r}")
        if _day(a.get("published")) is None:
            errs.append(f"article {a.get('id')}: published {a.get('published')!r} is not YYYY-MM-DD")
        if not re.match(r"https?://[^/]+\.example/", a.get("url") or ""):
            errs.append(f"article {a.get('id')}: url must be on an .example domain")
        seen_urls[a.get("url")] += 1
        by_id[a.get("id")] = a
        sentences[a.get("id")] = {s.text for s in split_sentences(a.get("text") or "")}
        if not 8 <= len(sentences[a.get("id")]) <= 20:
            errs.append(f"article {a.get('id')}: {len(sentences[a.get('id')])} sentences (want 8-20)")
    days = [_day(a.get("published")) for a in arts]
    if None not in days and days != sorted(days):
        errs.append("articles are not in publication order")
    if len({a.get("site") for a in arts}) < 2:
        errs.append("fewer than 2 sites")

    def holds(where: str, item: dict) -> None:
        aid = item.get("article")
        if aid not in by_id:
            errs.append(f"{where}: unknown article {aid!r}")
        elif item.get("sentence") not in sentences[aid]:
            errs.append(f"{where}: sentence is not one sentence of {aid} as split: {item.get('sentence')!r:.80}")
        elif not item.get("answer") or item["answer"] not in item["sentence"]:
            errs.append(f"{where}: answer {item.get('answer')!r} is not inside its sentence")

    kinds = Counter()
    for n, q in enumerate(story["questions"]):
        where = f"question {n} ({q.get('kind')})"
        kinds[q.get("kind")] += 1
        if q.get("kind") not in KINDS:
            errs.append(f"{where}: kind must be one of {', '.join(KINDS)}")
            continue
        if not str(q.get("q", "")).strip().endswith("?"):
            errs.append(f"{where}: 'q' must end in '?'")
        today = _day(q.get("today"))
        if today is None:
            errs.append(f"{where}: today {q.get('today')!r} is not YYYY-MM-DD")
        if q["kind"] in ("latest", "asof"):
            holds(where, q)
        if q["kind"] == "latest":
            if today and None not in days and today < max(days):
                errs.append(f"{where}: today is before the story's last article")
            for k, o in enumerate(q.get("older", [])):
                holds(f"{where} older {k}", o)
                if o.get("article") in by_id and q.get("article") in by_id and \
                        by_id[o["article"]]["published"] > by_id[q["article"]]["published"]:
                    errs.append(f"{where} older {k}: published after the newest value")
        elif q["kind"] == "asof":
            until = _day(q.get("until"))
            if until is None:
                errs.append(f"{where}: until {q.get('until')!r} is not YYYY-MM-DD")
            elif q.get("article") in by_id and _day(by_id[q["article"]]["published"]) > until:
                errs.append(f"{where}: its article is published after until {until}")
        elif q["kind"] == "disagreement":
            vals = q.get("values") or []
            if len(vals) < 2:
                errs.append(f"{where}: needs 2 values")
            for k, v in enumerate(vals):
                holds(f"{where} value {k}", v)
                if v.get("article") in by_id and v.get("site") != by_id[v["article"]]["site"]:
                    errs.append(f"{where} value {k}: site is not its article's")
            if len({v.get("site") for v in vals}) < len(vals):
                errs.append(f"{where}: values must come from different sites")
        else:
            ids = q.get("articles") or []
            if len(ids) < 3 or any(i not in by_id for i in ids):
                errs.append(f"{where}: needs at least 3 of the story's article ids")
            elif [by_id[i]["published"] for i in ids] != sorted(by_id[i]["published"] for i in ids):
                errs.append(f"{where}: articles are not in date order")
    if kinds["timeline"] != 1 or not 2 <= kinds["latest"] <= 3 or kinds["asof"] != 2:
        errs.append(f"question kinds {dict(kinds)} (want 2-3 latest, 2 asof, 1 timeline)")
    return errs


def main(argv: list[str]) -> int:
    files = [Path(p) for p in argv] or sorted(DATA.glob("*.json"))
    urls: Counter = Counter()
    bad = 0
    stories = []
    for f in files:
        try:
            story = json.loads(f.read_text(encoding="utf-8"))
            errs = check_story(f, story, urls) if isinstance(story, dict) else ["not a JSON object"]
            stories.append(story)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            errs = [f"not readable JSON: {e}"]
        for e in errs:
            print(f"{f.name}: {e}")
        bad += bool(errs)
    for url, n in urls.items():
        if n > 1:
            print(f"url {url!r} used {n} times")
            bad += 1
    ok = [s for s in stories if isinstance(s, dict)]
    kinds = Counter(q.get("kind") for s in ok for q in s.get("questions", []))
    print(f"{len(files)} stories ({bad} with problems): {sum(len(s.get('articles', [])) for s in ok)} "
          f"articles, {dict(kinds)}; dev {sum(s.get('split') == 'dev' for s in ok)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
