"""``qa eval`` on developing stories: a folder of story files (``train/data/stories``) or one file.

Every story's articles are indexed together, as records ``{title, text, url, published, site,
author}``, so that stories sharing a city or a kind of event compete; then each question of the
chosen split is asked on its own "today". Scores, per question kind:

- latest: the first citation holds the newest value; "only older": no citation holds it but
  one holds an older value (what must never happen);
- asof: the first citation holds the value as of the question's day;
- disagreement: both values are among the citations (and, separately, the answer marks a
  disagreement);
- timeline: the citations hold at least 3 of the story's articles, in date order.

It also reports how the ingest grouped the articles: pairwise precision and recall of
"same story" against the files' stories (all stories, since all are indexed).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from itertools import combinations
from pathlib import Path

from index.settings import Settings
from index.types import Answer, QAError

KINDS = ("latest", "asof", "disagreement", "timeline")


def is_stories(path: str) -> bool:
    p = Path(path)
    return p.is_dir() or p.suffix == ".json"


def load(path: str) -> list[dict]:
    p = Path(path)
    files = sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise QAError(f"{path}: no story files; give a folder of NN_slug.json stories or one such file.")
    out = []
    for f in files:
        try:
            story = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise QAError(f"{f}: not a readable JSON story ({type(e).__name__}); "
                          "check it with python -m train.check_stories.") from None
        if not isinstance(story, dict) or not isinstance(story.get("articles"), list):
            raise QAError(f"{f}: a story needs an 'articles' list; see train/check_stories.py.")
        out.append(story)
    return out


def records(stories: list[dict]) -> list[dict]:
    return [{k: a.get(k) for k in ("title", "text", "url", "published", "site", "author")}
            for st in stories for a in st["articles"]]


def run(path: str, *, split: str = "dev", limit: int | None = None, settings: Settings | None = None,
        show_progress: bool = False) -> dict:
    from qa import api
    from qa.evaluate import _bar

    stories = load(path)
    asked = [st for st in stories if split == "all" or st.get("split") == split]
    base = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="qa-eval-stories-") as tmp:
        s = replace(base, data_dir=Path(tmp), seed_dir=None, chroma_url="")
        store = api.open_store(s, seed=False)
        t0 = time.perf_counter()
        added = store.add_documents([_document(r) for r in records(stories)],
                                    progress=_bar("indexing", show_progress))
        ingest_s = time.perf_counter() - t0
        by_url = {a.url: a.id for a in added}
        ids = {a["id"]: by_url[a["url"]] for st in stories for a in st["articles"]}
        grouping = _grouping(stories, ids, store.catalog.stories_of(list(ids.values())))
        questions = [(st, q) for st in asked for q in st.get("questions", [])][:limit]
        rows, latencies = [], []
        tick = _bar("asking", show_progress)
        for n, (st, q) in enumerate(questions, 1):
            t = time.perf_counter()
            ans = api.ask(q["q"], settings=s, today=q.get("today"))
            latencies.append(time.perf_counter() - t)
            rows.append({"story": st.get("story"), "kind": q.get("kind"), "q": q["q"],
                         **score(st, q, ans, ids)})
            tick(n, len(questions))
        api.close_store(s)
    return summarise(rows, latencies, grouping) | {
        "file": str(path), "split": split, "stories": len(asked), "articles": len(ids),
        "ingest_seconds": round(ingest_s, 2), "embed_model": base.embed_model}


def _document(r: dict):
    from index.types import Document
    return Document(r["title"], r["text"], r["url"], r["url"], r["published"], r["site"], r["author"])


def _holds(sentence: str, answer: str) -> bool:
    from qa.evaluate import _contains
    return _contains(sentence, [answer])


def score(story: dict, q: dict, ans: Answer, ids: dict[str, str]) -> dict:
    cites = ans.citations
    kind = q.get("kind")
    if kind in ("latest", "asof"):
        first = bool(cites) and _holds(cites[0].sentence, q["answer"])
        row = {"ok": first}
        if kind == "latest":
            newest_any = any(_holds(c.sentence, q["answer"]) for c in cites)
            older_any = any(_holds(c.sentence, o["answer"]) for o in q.get("older", []) for c in cites)
            row["only_older"] = older_any and not newest_any
        return row
    if kind == "disagreement":
        both = all(any(_holds(c.sentence, v["answer"]) for c in cites) for v in q["values"])
        return {"ok": both, "marked": both and bool(ans.disagreements)}
    if kind == "timeline":
        want = [ids[a] for a in q["articles"]]
        order = {aid: n for n, aid in enumerate(want)}
        seen = [order[c.article_id] for c in cites if c.article_id in order]
        return {"ok": len(set(seen)) >= 3 and seen == sorted(seen), "articles": len(set(seen)),
                "timeline": ans.timeline}
    return {"ok": False}


def _grouping(stories: list[dict], ids: dict[str, str], got: dict[str, str]) -> dict:
    gold = {ids[a["id"]]: st.get("story") for st in stories for a in st["articles"]}
    tp = fp = fn = 0
    for a, b in combinations(sorted(gold), 2):
        same, grouped = gold[a] == gold[b], got.get(a) is not None and got.get(a) == got.get(b)
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    exact = sum(len({got.get(ids[a["id"]]) for a in st["articles"]}) == 1
                and sum(1 for v in got.values() if v == got.get(ids[st["articles"][0]["id"]]))
                == len(st["articles"]) for st in stories)
    return {"pair_precision": round(tp / max(1, tp + fp), 4), "pair_recall": round(tp / max(1, tp + fn), 4),
            "stories_exact": exact, "stories_found": len(set(got.values())), "stories_true": len(stories)}


def summarise(rows: list[dict], latencies: list[float], grouping: dict) -> dict:
    def share(kind: str, key: str = "ok") -> float | None:
        vals = [bool(r.get(key)) for r in rows if r["kind"] == kind]
        return round(sum(vals) / len(vals), 4) if vals else None

    lat = sorted(latencies)
    out = {"questions": len(rows), "grouping": grouping,
           "by_kind": {k: {"questions": sum(r["kind"] == k for r in rows), "ok": share(k)} for k in KINDS},
           "latest_only_older": share("latest", "only_older"),
           "disagreement_marked": share("disagreement", "marked"),
           "latency_ms_p50": round(1000 * lat[len(lat) // 2], 1) if lat else None,
           "misses": [{k: r[k] for k in ("story", "kind", "q")} for r in rows if not r.get("ok")]}
    return out


def format_report(r: dict) -> str:
    def pc(v):
        return "n/a" if v is None else f"{100 * v:.1f}%"
    g = r["grouping"]
    k = r["by_kind"]
    lines = [
        f"{r['file']} [{r['split']}]: {r['questions']} questions on {r['stories']} stories; "
        f"{r['articles']} articles indexed in {r['ingest_seconds']} s [{r['embed_model']}]",
        f"  stories grouped: {g['stories_found']} found for {g['stories_true']} written, "
        f"{g['stories_exact']} exactly; same-story pairs precision {pc(g['pair_precision'])}, "
        f"recall {pc(g['pair_recall'])}",
        f"  latest: first citation holds the newest value  {pc(k['latest']['ok'])} "
        f"({k['latest']['questions']}); only an older value cited: {pc(r['latest_only_older'])}",
        f"  as-of: first citation holds the value then     {pc(k['asof']['ok'])} ({k['asof']['questions']})",
        f"  disagreement: both values cited                {pc(k['disagreement']['ok'])} "
        f"({k['disagreement']['questions']}); marked as a disagreement: {pc(r['disagreement_marked'])}",
        f"  timeline: >= 3 of its articles, in date order  {pc(k['timeline']['ok'])} ({k['timeline']['questions']})",
        f"  latency p50: {r['latency_ms_p50']} ms",
    ]
    return "\n".join(lines)
