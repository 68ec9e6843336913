"""The ask benchmark against a Chroma server (``chroma run`` on loopback) vs the embedded store.

Takes a data folder built by bench/scale.py, copies its Chroma folder to be the server's
``--path`` (the on-disk format is the same, so nothing is embedded again) and its catalog to a
second data folder, then runs bench/probe.py against each, alternately, ``--rounds`` times.
Both must cite exactly the same sentences (same citations digest).

    python bench/chroma_server.py [DATA_DIR] [--questions 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import common
from scale import probe

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.perf_counter()
    while time.perf_counter() - t < 60:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("chroma run did not answer its heartbeat in 60 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=Path("/tmp/qa-bench/scale/data"))
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    run = common.Run("chroma_server", data_dir=str(args.data_dir), questions=args.questions, rounds=args.rounds)
    print(common.header(run), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-srv-"))
    proc = None
    try:
        shutil.copytree(args.data_dir / "chroma", tmp / "server")
        (tmp / "data").mkdir()
        for f in args.data_dir.glob("catalog.sqlite3*"):
            shutil.copy2(f, tmp / "data" / f.name)
        port = free_port()
        t = time.perf_counter()
        proc = start_server(tmp / "server", port)
        run["server_start_s"] = round(time.perf_counter() - t, 2)
        url = f"http://127.0.0.1:{port}"
        results = {"embedded": [], "server": []}
        for _ in range(args.rounds):
            results["embedded"].append(probe(args.data_dir, args.questions))
            results["server"].append(probe(tmp / "data", args.questions, chroma_url=url))
            run["server_rss"] = common.proc_rss_mb(proc.pid)
        run["results"] = results
        best = {k: min(v, key=lambda p: p["ask"]["p50_ms"]) for k, v in results.items()}
        run["same_citations"] = len({p["citations_digest"] for v in results.values() for p in v}) == 1
        rows = [[k, b["articles"], b["ask"]["p50_ms"], b["ask"]["p95_ms"], b["stages_mean_ms"]["vector_search"],
                 b["first_answer_s"], b["peak_rss_mb"], b["citations_digest"]] for k, b in best.items()]
        print(common.table(rows, ["store", "articles", "ask p50 ms", "ask p95 ms", "vector search ms (mean)",
                                  "first answer s", "client peak RSS MB", "citations digest"]))
        print(f"server RSS {run['server_rss']}; same citations: {run['same_citations']}")
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
