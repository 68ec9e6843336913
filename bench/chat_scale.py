"""The chat server on a big index: start-up to a usable page, and its peak memory.

Starts ``qa chat`` on an existing data folder (default: the 10,000-article folder bench/scale.py
leaves), measures the time from process start to a usable page in Chromium (question box shown
and the articles list filled; the page lists the newest 300 articles), asks questions through the
page's /ask API, then reads the server's peak RSS (VmHWM) from /proc.

    python bench/chat_scale.py [DATA_DIR] [--runs 2] [--questions 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import common
from ui_startup import FLAGS, start_chat


def one_start(browser, data_dir: Path, questions: list[str]) -> dict:
    proc, url, t0, http = start_chat(data_dir, QA_SEED_DIR="")
    try:
        page = browser.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("#qa-question textarea", timeout=120_000)
        page.wait_for_selector("#qa-only label", timeout=120_000)  # the articles list is filled
        usable = time.perf_counter() - t0
        rss_start = common.proc_rss_mb(proc.pid)
        from gradio_client import Client
        client = Client(url, verbose=False)
        lat = []
        for q in questions:
            t = time.perf_counter()
            client.predict(q, api_name="/ask")
            lat.append(time.perf_counter() - t)
        page.close()
        return {"server_up_s": round(http, 2), "page_usable_s": round(usable, 2), "rss_after_start": rss_start,
                "ask_via_api": common.ms_summary(lat), "rss_after_asks": common.proc_rss_mb(proc.pid),
                "load": common.load_average()}
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=Path("/tmp/qa-bench/scale/data"))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--questions", type=int, default=30)
    args = ap.parse_args()
    run = common.Run("chat_scale", data_dir=str(args.data_dir), runs=args.runs, questions=args.questions)
    print(common.header(run), flush=True)
    qs = common.questions(args.questions)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        runs = []
        for _ in range(args.runs):
            runs.append(one_start(browser, args.data_dir, qs))
            print(runs[-1], flush=True)
        browser.close()
    run["runs"] = runs
    run["page_usable_median_s"] = statistics.median(r["page_usable_s"] for r in runs)
    run["peak_rss_max_mb"] = max(r["rss_after_asks"]["peak_rss_mb"] for r in runs)
    print(f"page usable: median {run['page_usable_median_s']} s; server peak RSS {run['peak_rss_max_mb']} MB")
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
