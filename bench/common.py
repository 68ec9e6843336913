"""Shared pieces of the benchmarks: machine facts, percentiles, RSS, disk, corpora, results.

Every result file records the date, the machine (cores, CPU, Python) and the ``uptime`` load
average at the start and the end of the run: other jobs share these 2 cores, and a number
measured under load 6 is not the same number as one measured under load 0.

Corpora are built from the benchmark files in ``../shared/eval`` (passed by path, never copied
into the project): SQuAD paragraphs, HotpotQA paragraphs and DROP passages, combined into
articles of a few paragraphs with a fixed seed, plus the seed article from ``seeds/`` so a known
question ("How many prisoners were exchanged?") has a known answer ("175") at every size.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import resource
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from index.loading import load_file  # noqa: E402
from index.sentences import split_sentences  # noqa: E402
from index.types import Document, Limits  # noqa: E402

EVAL_DIR = Path(os.environ.get("QA_EVAL_DIR", REPO.parent / "shared" / "eval"))
RESULTS = REPO / "bench" / "results"
SEED_QUESTION = "How many prisoners were exchanged?"
SEED_ANSWER = "175"


# --- machine and load ---
def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
            "cpu": cpu, "mem_mb": mem, "python": sys.version.split()[0], "platform": platform.platform()}


class Run:
    """Collects one benchmark's results with its context; ``save`` writes bench/results/NAME.json."""

    def __init__(self, name: str, **params) -> None:
        self.name = name
        self.data = {"benchmark": name, "machine": machine(), "params": params,
                     "load_start": load_average(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}

    def __setitem__(self, key, value) -> None:
        self.data[key] = value

    def __getitem__(self, key):
        return self.data[key]

    def save(self, path: Path | None = None) -> Path:
        self.data["load_end"] = load_average()
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = path or RESULTS / f"{self.name}.json"
        path.write_text(json.dumps(self.data, indent=2) + "\n")
        return path


def header(run: Run) -> str:
    m = run.data["machine"]
    return (f"{run.name}: {m['date']}, {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
            f"load average at start {run.data['load_start']}")


# --- numbers ---
def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of values, in their own unit."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def ms_summary(seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "min_ms": round(min(ms), 2)}


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def proc_rss_mb(pid: int) -> dict:
    """Current and peak RSS of a running process from /proc (VmRSS, VmHWM)."""
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return {"rss_mb": out.get("VmRSS"), "peak_rss_mb": out.get("VmHWM")}


def disk_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return round(total / 1e6, 2)


def table(rows: list[list], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# --- benchmark files ---
def eval_file(name: str) -> Path:
    p = EVAL_DIR / name
    if not p.is_file():
        raise SystemExit(f"{p}: not found; set QA_EVAL_DIR to the folder holding the benchmark files.")
    return p


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.open(encoding="utf-8") if l.strip()]


def squad_documents() -> tuple[list[Document], list[dict]]:
    """The SQuAD file's articles (paragraphs joined, as ``qa eval`` builds them) and its records."""
    from qa.evaluate import documents
    records = read_jsonl(eval_file("squad_v2_dev.jsonl"))
    return documents(records), records


def seed_documents() -> list[Document]:
    docs = []
    for p in sorted((REPO / "seeds").glob("*.txt")):
        docs.extend(load_file(p, Limits(max_bytes=20_000_000, timeout=15.0)))
    return docs


def _paragraphs() -> list[tuple[str, str]]:
    """(title, paragraph) pairs from the three benchmark files, deduplicated, in file order."""
    seen: dict[str, str] = {}
    for r in read_jsonl(eval_file("squad_v2_dev.jsonl")):
        seen.setdefault(r["context"], r["title"])
    for r in read_jsonl(eval_file("hotpotqa_dev_distractor.jsonl")):
        for para in re.split(r"\n\s*\n", r["context"]):
            title, _, body = para.partition("\n")
            if body.strip():
                seen.setdefault(body.strip(), title.strip())
    for r in read_jsonl(eval_file("drop_dev.jsonl")):
        seen.setdefault(r["context"], (r.get("title") or "Report"))
    return [(t, p) for p, t in seen.items()]


def corpus(n: int, seed: int = 1234, max_sentences: int = 6) -> list[Document]:
    """``n`` articles: the seed article first, then articles of 2-3 paragraph openings drawn with
    a fixed seed (4 to ``max_sentences`` sentences each, all texts distinct). Prefixes are stable: corpus(100) is the start
    of corpus(10000), so a growing index passes through every smaller size."""
    paras = _paragraphs()
    rng = random.Random(seed)
    docs = seed_documents()
    seen = {d.text for d in docs}
    k = 0
    while len(docs) < n:
        k += 1
        picks = [paras[rng.randrange(len(paras))] for _ in range(3)]
        text, count = [], 0
        for i, (_, p) in enumerate(picks):  # at least two paragraphs, so texts rarely repeat
            sents = split_sentences(p)
            room = min(max_sentences - count, max_sentences // 2)
            if len(sents) > room:
                p = p[:sents[room - 1].end]
                sents = sents[:room]
            text.append(p)
            count += len(sents)
            if i >= 1 and count >= 4:
                break
        body = "\n\n".join(text)
        if body in seen:
            continue
        seen.add(body)
        docs.append(Document(f"{picks[0][0]} (report {k})", body, f"bench:{k}"))
    return docs[:n]


def questions(n: int, seed: int = 7) -> list[str]:
    """``n`` answerable questions drawn with a fixed seed from the three files (their contexts
    are in every corpus size's pool, if not always in the corpus itself), the seed question first."""
    rng = random.Random(seed)
    pool = []
    for name in ("squad_v2_dev.jsonl", "hotpotqa_dev_distractor.jsonl", "drop_dev.jsonl"):
        pool += [r["question"] for r in read_jsonl(eval_file(name)) if r.get("answers")]
    rng.shuffle(pool)
    return [SEED_QUESTION] + pool[:n - 1]


def _news_articles() -> list[dict]:
    """The news sets written here (train/data): the real-news-shaped v3 articles first, longest
    first, then the shorter first set."""
    from train.mine import NEWS, V3, load_news
    return [a for folder in (V3, NEWS) for a in sorted(load_news(folder), key=lambda a: -len(a["text"]))]


def news_corpus(n: int) -> list[Document]:
    """The seed article, then ``n - 1`` articles shaped like real news (train/data/news_v3:
    median 30+ sentences, bylines, captions, several outlets per event)."""
    docs = seed_documents() + [Document(a["title"], a["text"], f"news:{a['id']}")
                               for a in _news_articles()]
    if len(docs) < n:
        raise SystemExit(f"only {len(docs)} news articles are written here; ask for at most that many")
    return docs[:n]


def news_questions(n: int, articles: int, seed: int = 7) -> list[str]:
    """``n`` questions about the first ``articles`` articles of ``news_corpus`` (answerable and
    near-miss, as users ask them), the seed question first."""
    rng = random.Random(seed)
    pool = [q["q"] for a in _news_articles()[:articles - 1] for q in a["questions"] + a["near_miss"]]
    rng.shuffle(pool)
    return [SEED_QUESTION] + pool[:n - 1]


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out
