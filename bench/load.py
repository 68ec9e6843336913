"""Load test: locust (bench/locustfile.py) against one or more `qa serve` replicas on loopback.

For each replica count, the replicas start (each its own process, on a free loopback port) on
one index prepared first; then, for each user count, locust runs headless for --time seconds,
every user asking back to back, half through POST /api/v1/ask and half through
POST /v1/chat/completions, users spread over the replicas round-robin. Reports req/s, p50/p95
and failures per endpoint. Writes bench/results/load.json.

    python bench/load.py [--replicas 1,2] [--users 1,8,32] [--time 30] [--articles 100] [--name load]

The replicas get this process's environment, so they share whatever stores it names:
QA_CHROMA_URL (a Chroma server) and QA_DATABASE_URL (the PostgreSQL catalog). Several replicas
without QA_CHROMA_URL would each open the embedded Chroma of one folder, which Chroma does not
allow from two processes: the run then starts a Chroma server on loopback (`chroma run`) and
the replicas share it (and, without QA_DATABASE_URL, the folder's SQLite catalog: same machine
only).
QA_API_TOKEN, if set, is required by the replicas and sent by locust. Locust runs on the same
cores as the replicas (one process, a fraction of a core at these rates).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import common
from chroma_server import start_server
from http_api import free_port, seed_dir, start, stop
from index.settings import Settings
from index.store import Store

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ENDPOINTS = ("POST /api/v1/ask", "POST /v1/chat/completions", "Aggregated")


def prepare(data_dir: Path, articles: int) -> None:
    """The index the replicas serve: ``articles`` benchmark articles (the seed article first),
    written through the stores this environment names."""
    store = Store(Settings.from_env(data_dir=data_dir, seed_dir=None))
    if store.catalog.count() < articles:
        store.add_documents(common.corpus(articles))


def locust(hosts: list[str], users: int, seconds: int, questions: Path, out: Path) -> dict:
    prefix = out / f"locust-{len(hosts)}x-{users}u"
    env = {**os.environ, "QA_LOAD_HOSTS": ",".join(hosts), "QA_LOAD_QUESTIONS": str(questions)}
    subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", hosts[0],
                    "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
                    "--loglevel", "WARNING"], env=env, check=False, cwd=common.REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = {r["Name"]: r for r in csv.DictReader(open(f"{prefix}_stats.csv"))}
    return {name: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                   "req_s": round(float(r["Requests/s"]), 1), "p50_ms": float(r["50%"]),
                   "p95_ms": float(r["95%"])} for name, r in rows.items() if name in ENDPOINTS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", default="1,2")
    ap.add_argument("--users", default="1,8,32")
    ap.add_argument("--time", type=int, default=30, help="seconds per run")
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--name", default="load", help="results in bench/results/NAME.json")
    args = ap.parse_args()
    replicas = [int(x) for x in args.replicas.split(",")]
    users = [int(x) for x in args.users.split(",")]
    run = common.Run(args.name, replicas=replicas, users=users, seconds=args.time, articles=args.articles)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-load-"))
    work.mkdir(parents=True, exist_ok=True)
    chroma = None
    if max(replicas) > 1 and not os.environ.get("QA_CHROMA_URL"):
        port = free_port()
        chroma = start_server(work / "chroma-server", port)
        os.environ["QA_CHROMA_URL"] = f"http://127.0.0.1:{port}"
    run["stores"] = {"chroma": os.environ.get("QA_CHROMA_URL") or "embedded",
                     "catalog": "PostgreSQL" if os.environ.get("QA_DATABASE_URL") else "SQLite"}
    questions = work / "questions.json"
    questions.write_text(json.dumps(common.questions(50)))
    results = []
    try:
        prepare(work / "data", args.articles)
        seeds = seed_dir(work)
        for n in replicas:
            procs = [start("serve", work / "data", seeds) for _ in range(n)]
            try:
                for u in users:
                    got = locust([url.rstrip("/") for _, url in procs], u, args.time, questions, work)
                    row = {"replicas": n, "users": u, "load": common.load_average(), **got}
                    results.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                for p, _ in procs:
                    stop(p)
    finally:
        if chroma is not None:
            stop(chroma)
    run["runs"] = results
    print(run.save())
    head = ["replicas", "users", "endpoint", "req/s", "p50 ms", "p95 ms", "requests", "failures", "load"]
    print(common.table([[r["replicas"], r["users"], name, r[name]["req_s"], r[name]["p50_ms"],
                         r[name]["p95_ms"], r[name]["requests"], r[name]["failures"], r["load"]]
                        for r in results for name in ENDPOINTS if name in r], head))


if __name__ == "__main__":
    main()
