"""Article extraction from news pages: stored text against the known article body.

The pages in ``bench/extraction/pages/`` were written for this benchmark: fictional articles
wrapped in six site templates with the clutter real news pages carry (navigation, cookie
banners, bylines, captions, "read more" and newsletter boxes inside the story, related and
most-read lists, comments, footers, scripts, JSON-LD, OpenGraph), one of them a JavaScript app
shell whose article exists only in its JSON-LD. ``truth.jsonl`` holds each page's body, title,
date, site and author.

Each page goes through ``index.loading.parse``, exactly what ``qa ingest PAGE.html`` stores.
Word-level precision / recall / F1 (bags of lowercased words) of the stored text against the
body, averaged over pages; a refused page scores 0. Also: titles, dates, sites and authors
found (exact after whitespace and case folding; dates compared on the day).

    python bench/extraction.py [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

import common
from index.loading import parse
from index.types import QAError

HERE = Path(__file__).resolve().parent / "extraction"


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def prf(got: str, want: str) -> tuple[float, float, float]:
    g, w = words(got), words(want)
    hit = sum((g & w).values())
    p = hit / max(1, sum(g.values()))
    r = hit / max(1, sum(w.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def same(a, b) -> bool:
    norm = lambda s: " ".join(str(s or "").split()).casefold()  # noqa: E731
    return bool(a) and norm(a) == norm(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the per-page results as JSON")
    args = ap.parse_args()
    truth = [json.loads(line) for line in (HERE / "truth.jsonl").open(encoding="utf-8")]
    run = common.Run("extraction", pages=len(truth))
    rows, t0 = [], time.perf_counter()
    for t in truth:
        data = (HERE / "pages" / t["page"]).read_bytes()
        try:
            [doc] = parse(data, ".html", source=t["page"], default_title=t["page"])
        except QAError as e:
            rows.append({"page": t["page"], "refused": str(e), "p": 0.0, "r": 0.0, "f1": 0.0})
            continue
        p, r, f = prf(doc.text, t["body"])
        meta = {k: getattr(doc, k, None) for k in ("title", "published", "site", "author", "url")}
        rows.append({"page": t["page"], "p": p, "r": r, "f1": f,
                     "title": same(meta["title"], t["title"]),
                     "date": bool(meta["published"]) and meta["published"][:10] == t["published"],
                     "site": same(meta["site"], t["site"]),
                     "author": same(meta["author"], t["author"]),
                     "got": meta})
    took = time.perf_counter() - t0
    n = len(rows)
    mean = lambda k: round(sum(r[k] for r in rows) / n, 3)  # noqa: E731
    count = lambda k: sum(1 for r in rows if r.get(k))  # noqa: E731
    summary = {"pages": n, "precision": mean("p"), "recall": mean("r"), "f1": mean("f1"),
               "refused": sum(1 for r in rows if "refused" in r), "titles": count("title"),
               "dates": count("date"), "sites": count("site"), "authors": count("author"),
               "with_author": sum(1 for t in truth if t["author"]),
               "seconds": round(took, 2)}
    run["summary"], run["pages"] = summary, rows
    run.save()
    if args.json:
        print(json.dumps(run.data, indent=2, ensure_ascii=False))
        return
    print(common.header(run))
    print(common.table([[r["page"], f"{r['p']:.3f}", f"{r['r']:.3f}", f"{r['f1']:.3f}",
                         "refused" if "refused" in r else
                         " ".join(k for k in ("title", "date", "site", "author") if r[k]) or "-"]
                        for r in rows],
                       ["page", "P", "R", "F1", "found"]))
    print(f"\nmean P {summary['precision']:.3f}  R {summary['recall']:.3f}  F1 {summary['f1']:.3f}; "
          f"refused {summary['refused']}/{n}; titles {summary['titles']}/{n}, dates {summary['dates']}/{n}, "
          f"sites {summary['sites']}/{n}, authors {summary['authors']}/{summary['with_author']}; {took:.2f} s")


if __name__ == "__main__":
    main()
