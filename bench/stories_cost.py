"""What developing stories cost: ingest throughput and warm ask latency, before (a git revision
of this repository) and after (this tree), interleaved in one run so both see the same load.

The corpus is ``common.corpus`` with a publication date (spread over 60 days) and one of four
sites given to every article, so that grouping runs on every article with many stored ones in
its three-week window; many of these articles share a title ("... (report k)"), so stories
form and asks take the story paths (a second search within the story) where they apply.
Each round ingests into a fresh folder (sentences per second of wall time and of this
process's CPU time), then asks the questions warm (p50 / p95). Rounds alternate before/after;
medians are reported.

    python bench/stories_cost.py --base 9959178 [--articles 300] [--questions 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITES = ("Harbor Gazette", "Valley Times", "Coastline Wire", "Northfield Post")


def inner(articles: int, questions: int) -> dict:
    """One round in this process, with whatever ``index``/``qa`` PYTHONPATH gives."""
    sys.path.insert(0, str(Path(__file__).parent))
    import common
    from dataclasses import replace

    from index.settings import Settings
    from qa import api

    docs = [replace(d, published=(date(2025, 3, 1) + timedelta(days=i % 60)).isoformat(),
                    site=SITES[i % len(SITES)]) for i, d in enumerate(common.corpus(articles))]
    qs = common.questions(questions)
    with tempfile.TemporaryDirectory(prefix="qa-bench-stories-") as tmp:
        s = Settings(data_dir=Path(tmp), seed_dir=None)
        store = api.open_store(s, seed=False)
        store.embedder.embed_many(["warm up"])
        api.ask(qs[0], settings=s)  # loads the reader
        cpu0, t0 = time.process_time(), time.perf_counter()
        added = store.add_documents(docs)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        sentences = sum(len(a.sentences) for a in added)
        lat = []
        for q in qs:
            t = time.perf_counter()
            api.ask(q, settings=s)
            lat.append(time.perf_counter() - t)
        api.close_store(s)
    lat.sort()
    return {"sentences": sentences, "ingest_s": wall, "ingest_cpu_s": cpu,
            "sentences_per_s": sentences / wall, "sentences_per_cpu_s": sentences / cpu,
            "ask_p50_ms": 1000 * lat[len(lat) // 2], "ask_p95_ms": 1000 * lat[int(0.95 * len(lat))]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="git revision to compare with (before stories)")
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "stories_cost.json")
    a = ap.parse_args()
    if a.inner:
        print(json.dumps(inner(a.articles, a.questions)))
        return
    with tempfile.TemporaryDirectory(prefix="qa-bench-base-") as base:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.base], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", base], input=archive.stdout, check=True)
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for r in range(a.rounds):
            for label, root in (("before", base), ("after", str(ROOT))):
                env = {**os.environ, "PYTHONPATH": root}
                out = subprocess.run([sys.executable, __file__, "--inner", "--base", a.base,
                                      "--articles", str(a.articles), "--questions", str(a.questions)],
                                     env=env, capture_output=True, text=True, cwd=root)
                if out.returncode:
                    sys.exit(f"{label} round {r + 1} failed:\n{out.stderr[-2000:]}")
                row = json.loads(out.stdout.strip().splitlines()[-1])
                runs[label].append(row)
                print(f"round {r + 1} {label:6}: {row['sentences_per_s']:.1f} sentences/s "
                      f"({row['sentences_per_cpu_s']:.1f} per CPU s), ask p50 {row['ask_p50_ms']:.1f} ms, "
                      f"p95 {row['ask_p95_ms']:.1f} ms; load {os.getloadavg()[0]:.1f}", flush=True)
    med = {label: {k: round(statistics.median(r[k] for r in rows), 2) for k in rows[0]}
           for label, rows in runs.items()}
    ratio = {k: round(med["after"][k] / med["before"][k], 3) for k in
             ("sentences_per_s", "sentences_per_cpu_s", "ask_p50_ms", "ask_p95_ms")}
    report = {"base": a.base, "articles": a.articles, "questions": a.questions, "rounds": runs,
              "median": med, "after_over_before": ratio}
    a.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({"median": med, "after_over_before": ratio}, indent=2))


if __name__ == "__main__":
    main()
