"""Scaling: one index grown through 100, 1,000 and 10,000 articles, measured at each size.

At each size: ingest throughput of that step (sentences/s, against the embedding model's own
throughput measured in the same run on the same texts, by wall time and by CPU time: CPU time
per sentence stays put when other jobs share the cores, wall time does not), then, in a fresh process
(bench/probe.py), start-up, warm ask latency p50/p95 with its split by stage, peak RSS and the
seed question's answer; disk size of the data folder. Writes bench/results/scale.json.

    python bench/scale.py [--sizes 100,1000,10000] [--work DIR] [--questions 200]

The data folder is kept in --work (default /tmp/qa-bench/scale; copies at the smaller sizes in
data-SIZE) for bench/probe.py, bench/floor.py, bench/chroma_server.py and bench/chat_scale.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common
from index.chunks import embed_text, make_chunks
from index.sentences import split_sentences
from index.store import Store, article_id
from index.settings import Settings
from index.types import Article

PROBE = Path(__file__).with_name("probe.py")


def model_ceiling(store: Store, docs, n: int = 2000) -> dict:
    """The embedding model alone on ``n`` of the texts ingest will embed: sentences/s."""
    texts = []
    for d in docs:
        a = Article(article_id(d.text), d.title, d.text, d.source,
                    sentences=tuple(split_sentences(d.text)))
        texts += [embed_text(a, c) for c in make_chunks(a)]
        if len(texts) >= n:
            break
    texts = texts[:n]
    store.embedder.embed_many(texts[:64])  # warm
    t, c = time.perf_counter(), time.process_time()
    store.embedder.embed_many(texts)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return {"texts": len(texts), "seconds": round(dt, 2), "sentences_per_s": round(len(texts) / dt, 1),
            "cpu_ms_per_sentence": round(1000 * dc / len(texts), 2), "load": common.load_average()}


def probe(data_dir: Path, questions: int, chroma_url: str = "") -> dict:
    cmd = [sys.executable, str(PROBE), str(data_dir), "--questions", str(questions)]
    if chroma_url:
        cmd += ["--chroma-url", chroma_url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"probe failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/scale"))
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="grow an existing data folder in --work")
    ap.add_argument("--name", default="scale", help="results file name (bench/results/NAME.json)")
    ap.add_argument("--reprobe", nargs="+", type=Path, metavar="DATA_DIR",
                    help="only re-run the ask probe on these folders (e.g. when the machine is quieter) "
                         "and record it in the results file as 'reprobe'")
    args = ap.parse_args()
    if args.reprobe:
        path = common.RESULTS / f"{args.name}.json"
        data = json.loads(path.read_text())
        data["reprobe"] = [{"data_dir": str(d), "probe": probe(d, args.questions)} for d in args.reprobe]
        data["reprobe_machine"] = common.machine()
        path.write_text(json.dumps(data, indent=2) + "\n")
        for r in data["reprobe"]:
            p = r["probe"]
            print(f"{p['articles']:>6} articles: ask p50 {p['ask']['p50_ms']} ms p95 {p['ask']['p95_ms']} ms, "
                  f"CPU {p['ask_cpu_ms_mean']} ms, stages {p['stages_mean_ms']}, peak RSS {p['peak_rss_mb']} MB, "
                  f"first answer {p['first_answer_s']} s, load {p['load']}")
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    run = common.Run(args.name, sizes=sizes, questions=args.questions)
    print(common.header(run), flush=True)
    data = args.work / "data"
    if data.exists() and not args.keep:
        shutil.rmtree(data)
    docs = common.corpus(max(sizes))
    store = Store(Settings(data_dir=data, seed_dir=None))
    run["model_ceiling"] = ceiling = model_ceiling(store, docs)
    print(f"embedding model alone: {ceiling['sentences_per_s']} sentences/s", flush=True)
    rows, have = [], store.catalog.count()
    for size in sizes:
        step = docs[have:size]
        n_sent = sum(len(split_sentences(d.text)) for d in step)
        load0 = common.load_average()
        t, c = time.perf_counter(), time.process_time()
        store.add_documents(step)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        have = size
        if size != max(sizes):  # a copy at each smaller size, for later re-runs of the probe
            shutil.rmtree(args.work / f"data-{size}", ignore_errors=True)
            shutil.copytree(data, args.work / f"data-{size}")
        p = probe(data, args.questions)
        row = {"articles": size, "step_articles": len(step), "step_sentences": n_sent,
               "ingest_s": round(dt, 1), "ingest_sentences_per_s": round(n_sent / dt, 1) if dt else None,
               "ingest_vs_model": round(n_sent / dt / ceiling["sentences_per_s"], 2) if dt else None,
               "ingest_cpu_ms_per_sentence": round(1000 * dc / n_sent, 2),
               "ingest_vs_model_cpu": round(ceiling["cpu_ms_per_sentence"] / (1000 * dc / n_sent), 2),
               "ingest_peak_rss_mb": common.peak_rss_mb(), "ingest_load": load0,
               "disk_mb": common.disk_mb(data), "probe": p}
        rows.append(row)
        run["sizes"] = rows
        run.save()
        print(f"{size:>6} articles ({p['sentences']} sentences): ingest step {n_sent / dt:.1f} sent/s "
              f"({row['ingest_vs_model']:.0%} of model), ask p50 {p['ask']['p50_ms']} ms p95 "
              f"{p['ask']['p95_ms']} ms, probe peak RSS {p['peak_rss_mb']} MB, disk {row['disk_mb']} MB, "
              f"first answer {p['first_answer_s']} s, seed ok {p['seed_answer_found']}, "
              f"stages {p['stages_mean_ms']}", flush=True)
    print(f"saved {run.save()}")


if __name__ == "__main__":
    main()
