"""The HTTP API under load: what HTTP costs over an in-process ``qa.ask``, and answers in parallel.

1. Extractive, on the seed index: requests/s and p50/p95 latency of ``POST /api/v1/ask`` with
   1, 4 and 16 concurrent clients (`qa serve` in its own process; the clients are threads of
   this one, each with a keep-alive connection), next to ``qa.ask`` called in this process the
   same way (the same questions, the same concurrency).
2. Generative: 16 questions at once through the API and through the page (its ``/ask``
   endpoint, gradio_client), answered by `qa chat` against the scripted OpenAI-protocol server
   of tests/scripted_llm.py taking ``--delay`` s per reply; with ``QA_CONCURRENCY`` 8 (the
   default) and 1 (the page's old one-at-a-time queue). ``--browser`` adds the page in real
   Chromium: 16 tabs click "Ask" at once.

    python bench/http_api.py [--requests 300] [--delay 1.0] [--browser]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common

sys.path.insert(0, str(common.REPO / "tests"))
from scripted_llm import Scripted, numbered  # noqa: E402  (the tests' model double)

QUESTIONS = ["How many prisoners were exchanged?", "How long did Trump's call with Zelensky last?",
             "Who rejected a full 30-day ceasefire?", "What did Putin agree to?",
             "When did the prisoner exchange happen?", "What did Trump say about the call?",
             "Which energy infrastructure was discussed?", "Who did Trump speak to on Tuesday?"]
SEED_SENTENCE = "Each side released 175 prisoners of war."
CONCURRENCY = (1, 4, 16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_dir(tmp: Path) -> Path:
    d = tmp / "seeds"
    d.mkdir(exist_ok=True)
    for f in (common.REPO / "seeds").glob("*.txt"):
        shutil.copy(f, d / f.name)
    return d


def start(command: str, data_dir: Path, seeds: Path, **env) -> tuple[subprocess.Popen, str]:
    """`qa chat` / `qa serve` on a free loopback port; returns once it has answered an ask. Its
    stderr (`qa serve` writes an access-log line per request) goes to DATA_DIR.PORT.log: a pipe
    no one reads would fill and stall the server."""
    import httpx
    port = free_port()
    log = data_dir.with_name(f"{data_dir.name}.{port}.log")
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "QA_SEED_DIR": str(seeds),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           **env}
    args = [sys.executable, "-m", "qa", command, "--port", str(port)]
    proc = subprocess.Popen(args + (["--no-browser"] if command == "chat" else []), env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), cwd=common.REPO)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"qa {command} exited: {log.read_text()[-800:]}")
        try:
            if httpx.get(url + "api/v1/articles", timeout=30).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"qa {command} did not answer in 180 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def load_test(call, clients: int, total: int) -> dict:
    """``total`` calls spread over ``clients`` threads, each call timed; ``call(i)`` does one."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t, _ = common.timed(call, i)
            with lock:
                latencies.append(t)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests_per_s": round(total / wall, 1), **common.ms_summary(latencies),
            "load": common.load_average()}


def extractive(tmp: Path, seeds: Path, total: int) -> dict:
    import httpx

    from index.settings import Settings
    from qa import api

    settings = Settings.from_env(data_dir=tmp / "inproc", seed_dir=seeds)  # QA_* as the server reads them
    api.open_store(settings)
    for q in QUESTIONS:  # warm-up
        api.ask(q, settings=settings)

    def direct(i: int) -> None:
        assert api.ask(QUESTIONS[i % len(QUESTIONS)], settings=settings).text

    inproc = [load_test(direct, c, total) for c in CONCURRENCY]
    api.close_store(settings)

    proc, url = start("serve", tmp / "served", seeds)
    try:
        local = threading.local()

        def over_http(i: int) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=url + "api/v1", timeout=120)
            r = local.client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            assert r.status_code == 200 and r.json()["text"], r.text

        for i in range(20):  # warm-up
            over_http(i)
        http = [load_test(over_http, c, total) for c in CONCURRENCY]
        server_rss = common.proc_rss_mb(proc.pid)
    finally:
        stop(proc)
    return {"in_process": inproc, "http": http, "server_rss": server_rss}


def generative(tmp: Path, seeds: Path, delay: float, browser: bool) -> list[dict]:
    import httpx
    from gradio_client import Client

    model = Scripted(delay)
    model.replies = [lambda b: f"Each side released 175 prisoners of war [{numbered(b, SEED_SENTENCE)}]."]
    rows = []
    try:
        rows.append(in_process_generative(tmp, seeds, model))
        for concurrency in (8, 1):
            proc, url = start("chat", tmp / f"gen{concurrency}", seeds, QA_LLM="openai",
                              QA_CONCURRENCY=str(concurrency), OPENAI_BASE_URL=model.url, OPENAI_API_KEY="")
            try:
                # One client for all: a new one per request would load the CA certificates again,
                # ~0.1 s of this process's CPU each, measured as if it were the server's.
                http = httpx.Client(timeout=300)

                def via_api(_):
                    return http.post(url + "api/v1/ask", json={"question": QUESTIONS[0]}).json()

                page = Client(url, verbose=False)

                def via_page(_):
                    return page.predict(QUESTIONS[0], api_name="/ask")

                via_api(0)  # warm-up: the first generative answer imports the model client
                doors = [("API (POST /api/v1/ask)", via_api), ("page (its /ask, gradio_client)", via_page)]
                if browser:
                    doors.append(("page in Chromium (16 tabs click Ask)", None))
                for name, call in doors:
                    model.most_in_flight = 0
                    if call is None:
                        wall, latencies, got = tabs(url, 16)
                    else:
                        latencies, got = [], []

                        def timed(i, call=call):
                            t, out = common.timed(call, i)
                            latencies.append(t)
                            got.append(out)
                        t0 = time.perf_counter()
                        with ThreadPoolExecutor(16) as pool:
                            list(pool.map(timed, range(16)))
                        wall = time.perf_counter() - t0
                    rows.append(result_row(name, concurrency, wall, latencies, got, model))
            finally:
                stop(proc)
    finally:
        model.close()
    return rows


def result_row(door: str, concurrency: int, wall: float, latencies: list[float], got: list[dict],
               model: Scripted) -> dict:
    right = sum(g.get("mode") == "generative" and bool(g["citations"]) and
                g["citations"][0]["sentence"] == SEED_SENTENCE for g in got)
    print(f"  {door}, QA_CONCURRENCY={concurrency}: 16 answered in {wall:.2f} s "
          f"({right} right, {model.most_in_flight} model calls at once)", flush=True)
    return {"door": door, "qa_concurrency": concurrency, "asks": 16, "all_answered_s": round(wall, 2),
            **common.ms_summary(latencies), "right_answers": right,
            "most_model_calls_at_once": model.most_in_flight, "load": common.load_average()}


def in_process_generative(tmp: Path, seeds: Path, model: Scripted) -> dict:
    """The floor for the servers: the same 16 asks as ``qa.ask`` calls on 8 threads, no HTTP."""
    from index.settings import Settings
    from qa import api
    saved = {k: os.environ.pop(k, None) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    os.environ["OPENAI_BASE_URL"] = model.url
    try:
        settings = Settings.from_env(data_dir=tmp / "gen-inproc", seed_dir=seeds, llm="openai")
        api.ask(QUESTIONS[0], settings=settings)  # warm-up
        model.most_in_flight = 0
        latencies, got = [], []

        def one(_):
            t, a = common.timed(api.ask, QUESTIONS[0], settings=settings)
            latencies.append(t)
            got.append(a.to_dict())
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(16)))
        wall = time.perf_counter() - t0
        api.close_store(settings)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    return result_row("in-process qa.ask on 8 threads (no HTTP)", 8, wall, latencies, got, model)


# In each tab: click the question at the agreed time ``at`` (setting it up in 16 busy tabs takes
# seconds, the clicks should not), and note by the page's clock (Date.now) when it clicked and
# when the answer's sources appeared, so the times do not depend on how fast the harness polls.
WATCH = """([q, at]) => {
  window.qaT = {};
  new MutationObserver((_, obs) => {
    const src = document.querySelector('#qa-chat .qa-source');
    if (src) { window.qaT.end = Date.now(); window.qaT.source = src.innerText; obs.disconnect(); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  const b = [...document.querySelectorAll('#qa-examples button')].find(b => b.innerText.trim() === q);
  setTimeout(() => { window.qaT.start = Date.now(); b.click(); }, at - Date.now());
}"""


def tabs(url: str, n: int) -> tuple[float, list[float], list[dict]]:
    """``n`` Chromium tabs of the page click the first example question together; seconds from
    the first click until every tab shows a finished answer, and each tab's click-to-answer."""
    from playwright.sync_api import sync_playwright
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=flags)
        # A context each, like users on their own machines: tabs of one context would share
        # its 6 connections per host, and each page holds one open for its event stream.
        pages = [browser.new_context().new_page() for _ in range(n)]
        for page in pages:
            page.goto(url, wait_until="load")
            page.wait_for_selector("#qa-examples button", timeout=120_000)
        at = time.time() * 1000 + 1000 * (3 + 0.6 * n)  # after every tab has been told
        for page in pages:
            page.evaluate(WATCH, [QUESTIONS[0], at])
        times = []
        for page in pages:
            page.wait_for_function("window.qaT && window.qaT.end", timeout=300_000)
            times.append(page.evaluate("window.qaT"))
        browser.close()
    wall = (max(t["end"] for t in times) - min(t["start"] for t in times)) / 1000
    starts = [t["start"] for t in times]
    print(f"  (the {n} clicks spread over {(max(starts) - min(starts)) / 1000:.2f} s)")
    got = [{"mode": "generative", "citations": [{"sentence": SEED_SENTENCE}]} if SEED_SENTENCE in t["source"]
           else {"citations": []} for t in times]
    return wall, [(t["end"] - t["start"]) / 1000 for t in times], got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="asks per concurrency level")
    ap.add_argument("--delay", type=float, default=1.0, help="seconds the scripted model takes a reply")
    ap.add_argument("--browser", action="store_true", help="also 16 Chromium tabs on the page")
    args = ap.parse_args()
    run = common.Run("http_api", requests=args.requests, delay_s=args.delay, browser=args.browser,
                     env={k: v for k, v in os.environ.items() if k.startswith("QA_")})
    print(common.header(run), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-http-"))
    try:
        seeds = seed_dir(tmp)
        run["extractive"] = ex = extractive(tmp, seeds, args.requests)
        rows = [[c, i["requests_per_s"], i["p50_ms"], i["p95_ms"], h["requests_per_s"], h["p50_ms"],
                 h["p95_ms"], round(h["p50_ms"] - i["p50_ms"], 2), h["load"]]
                for c, i, h in zip(CONCURRENCY, ex["in_process"], ex["http"])]
        print(common.table(rows, ["clients", "qa.ask req/s", "qa.ask p50 ms", "qa.ask p95 ms",
                                  "HTTP req/s", "HTTP p50 ms", "HTTP p95 ms", "HTTP - qa.ask p50 ms",
                                  "load"]), flush=True)
        print(f"server RSS {ex['server_rss']}", flush=True)
        run["generative"] = generative(tmp, seeds, args.delay, args.browser)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
