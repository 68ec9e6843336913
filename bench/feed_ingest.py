"""A 100-entry feed ingested end to end, against the embedding model alone on the same text.

The articles are the benchmark corpus (``common.corpus``: paragraphs of SQuAD, HotpotQA and
DROP joined into news-sized stories), each wrapped in a cluttered news page (navigation,
cookie banner, related links, comments, JSON-LD with its date and site) and served with an RSS
feed of link-only entries by a static server in another process on loopback, as a real site
would be. The ingest fetches the feed and every page (a few at a time), extracts each article,
embeds and stores it. The ceiling is the model embedding the very texts the ingest embedded.
Both wall time and this process's CPU time are reported: other jobs share the machine, and CPU
time is what they do not inflate. Each round ingests into a fresh folder and runs the model
right after, so both see about the same load; every round is kept, the median one (by the
wall-time ratio) is the headline.

Then the filters: warm ask latency over the ingested articles, without a filter and with a
date range and a site (``--since``/``--site``), which run inside both searches.

    python bench/feed_ingest.py [--entries 100] [--questions 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import common
from index.chunks import embed_text, make_chunks
from index.settings import Settings
from qa import api

SITES = ["harbourwire.example", "lowmoorgazette.example", "northfieldpost.example", "metrolive.example"]


def page(title: str, body: str, day: date, site: str, n: int) -> str:
    e = html.escape
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
          "datePublished": f"{day.isoformat()}T08:00:00+00:00",
          "publisher": {"@type": "Organization", "name": site.split(".")[0].title()}}
    paras = "".join(f"<p>{e(p)}</p>" for p in body.split("\n\n"))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
            f'<link rel="canonical" href="https://www.{site}/news/{n}">'
            f'<script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
            '<div class="cookies">We and our partners use cookies. <button>Accept</button></div>'
            '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
            f'<main><article><h1>{e(title)}</h1><p class="byline">By Staff</p>{paras}</article>'
            '<aside><h2>Most read</h2><ol><li><a href="/1">Ferry timetable changes</a></li>'
            '<li><a href="/2">Council sets budget</a></li></ol></aside>'
            '<section class="comments"><p>Great report, thanks.</p></section></main>'
            '<footer>© 2025 Example Media. <a href="/privacy">Privacy</a></footer></body></html>')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100)
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3, help="ingest rounds; the median one is reported")
    args = ap.parse_args()
    docs = common.corpus(args.entries + 1, max_sentences=24)[1:]  # not the seed article
    run = common.Run("feed_ingest", entries=len(docs))
    print(common.header(run), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-feed-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    items = []
    for i, d in enumerate(docs):
        day, site = date(2025, 1, 1) + timedelta(days=i), SITES[i % len(SITES)]
        (tmp / "site").mkdir(exist_ok=True)
        (tmp / "site" / f"{i}.html").write_text(page(d.title, d.text, day, site, i), encoding="utf-8")
        when = format_datetime(datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc))
        items.append(f"<item><title>{html.escape(d.title)}</title><link>{base}/{i}.html</link>"
                     f"<pubDate>{when}</pubDate><description>Read the story.</description></item>")
    (tmp / "site" / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench news</title>'
        f"<link>{base}/</link>{''.join(items)}</channel></rss>", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp / "site")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rounds = []
        for r in range(args.rounds):  # each round: a fresh folder, then the model on its texts
            s = Settings(data_dir=tmp / f"data-{r}", seed_dir=None, allow_private_urls=True)
            store = api.open_store(s, seed=False)
            store.embedder.embed_many(["warm up the model"] * 64)
            api.ingest([str(tmp / "site" / "0.html")], settings=s)  # warm up extraction, then forget it
            api.remove(api.list_articles(settings=s)[0].id, settings=s)
            entries_done = []
            t, c = time.perf_counter(), time.process_time()
            arts = api.ingest(f"{base}/feed.xml", settings=s,
                              on_entry=lambda d, n, _: entries_done.append(time.perf_counter()))
            dt, dc = time.perf_counter() - t, time.process_time() - c
            texts = [embed_text(a, ch) for a in arts for ch in make_chunks(a)]
            fetch_s = entries_done[-1] - t if entries_done else 0.0
            load = common.load_average()
            t, c = time.perf_counter(), time.process_time()
            store.embedder.embed_many(list(dict.fromkeys(texts)))
            mt, mc = time.perf_counter() - t, time.process_time() - c
            rounds.append(g := {"articles": len(arts), "sentences": len(texts), "seconds": round(dt, 2),
                                "cpu_seconds": round(dc, 2), "fetch_extract_seconds": round(fetch_s, 2),
                                "load": load, "model_seconds": round(mt, 2), "model_cpu_seconds": round(mc, 2),
                                "model_load": common.load_average(), "vs_model": round(mt / dt, 2),
                                "vs_model_cpu": round(mc / dc, 2)})
            print(f"round {r + 1}: {len(arts)} entries, {len(texts)} sentences: ingest {dt:.1f} s ({dc:.1f} "
                  f"CPU s; fetch + extract done after {fetch_s:.1f} s), model alone {mt:.1f} s ({mc:.1f} "
                  f"CPU s): {g['vs_model']:.0%} of the model's speed ({g['vs_model_cpu']:.0%} by CPU time); "
                  f"load {load}", flush=True)
        # the median round by wall-time ratio: other jobs disturb single rounds either way
        best = sorted(rounds, key=lambda g: g["vs_model"])[len(rounds) // 2]
        run["rounds"] = rounds
        run["ingest"] = {k: best[k] for k in ("articles", "sentences", "seconds", "cpu_seconds",
                                              "fetch_extract_seconds", "load", "vs_model", "vs_model_cpu")}
        run["model_alone"] = {"seconds": best["model_seconds"], "cpu_seconds": best["model_cpu_seconds"],
                              "load": best["model_load"]}

        qs = random.Random(3).sample([a.title for a in arts], min(args.questions, len(arts)))
        qs = [f"What happened in {q.split(' (report')[0]}?" for q in qs]
        runs = {"none": {}, "since+until": {"since": "2025-02-01", "until": "2025-03-15"},
                "site": {"sites": [SITES[1]]}}
        for name, filters in runs.items():
            for q in qs[:3]:
                api.ask(q, settings=s, **filters)
            lat = []
            for q in qs:
                t = time.perf_counter()
                api.ask(q, settings=s, **filters)
                lat.append(time.perf_counter() - t)
            scope = store.scope(**filters)
            run[f"ask_{name}"] = a = {**common.ms_summary(lat), "articles_in_scope":
                                      store.catalog.count_in(scope), "load": common.load_average()}
            print(f"ask, filter {name} ({a['articles_in_scope']} articles in scope): p50 {a['p50_ms']} ms, "
                  f"p95 {a['p95_ms']} ms", flush=True)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
