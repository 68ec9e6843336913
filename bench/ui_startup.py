"""Cold start of the chat page: from `qa chat` process start to a usable page in Chromium.

"Usable" means what a new user needs: the page loaded, the question box shown and the seed
article listed in the Articles panel (so the index is open and an answer can come at once).
Each run uses a fresh data folder, so it includes embedding the seed article (the true first
run); --warm reuses one folder after a first run (every later start).

    python bench/ui_startup.py [--runs 3] [--warm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
QA = REPO / ".venv" / "bin" / "qa"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED_TITLE = "US President Donald Trump held"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; on a busy shared machine this is
    what the start-up itself costs, apart from waiting for a core. Linux only (else nan)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def start_chat(data_dir: Path, **env) -> tuple[subprocess.Popen, str, float, float]:
    """Start `qa chat` on a free port; wait until it answers HTTP.
    Returns (process, url, start time, seconds until HTTP answered)."""
    port = free_port()
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", **env}
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(QA), "chat", "--port", str(port), "--no-browser"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"qa chat exited: {proc.stderr.read().decode()[-500:]}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return proc, url, t0, time.perf_counter() - t0
        except OSError:
            time.sleep(0.05)


def one_start(browser, data_dir: Path) -> tuple[float, float, float, float]:
    """Seconds until the server answers HTTP, the question box shows, the page is usable;
    and the server's CPU seconds by then."""
    proc, url, t0, http = start_chat(data_dir)
    try:
        page = browser.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("#qa-question textarea", timeout=60_000)
        shown = time.perf_counter() - t0
        page.wait_for_selector(f"#qa-only label:has-text('{SEED_TITLE}')", timeout=60_000)
        usable = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid)
        page.close()
        return http, shown, usable, cpu
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", action="store_true", help="reuse one data folder (not the first run)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qa-ui-bench-"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            if args.warm:
                one_start(browser, tmp / "data")  # first run seeds the folder; not counted
            results = [one_start(browser, tmp / ("data" if args.warm else f"data{i}"))
                       for i in range(args.runs)]
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    kind = "warm (data folder already seeded)" if args.warm else "cold (fresh data folder, seeds embedded)"
    for i, (http, shown, usable, cpu) in enumerate(results, 1):
        print(f"run {i}: server up {http:.2f} s, question box {shown:.2f} s, page usable {usable:.2f} s"
              f" (server CPU {cpu:.2f} s)")
    usable = [r[2] for r in results]
    print(f"{kind}: median {statistics.median(usable):.2f} s, max {max(usable):.2f} s "
          f"over {len(usable)} runs ({os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
