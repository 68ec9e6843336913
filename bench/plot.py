"""docs/scale.png: ask latency (p50, p95) and peak memory against corpus size, from
bench/results/scale.json (and the chat server's peak RSS from chat_scale.json when present).

    pip install -e '.[bench]' && python bench/plot.py
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import common  # noqa: E402

OUT = common.REPO / "docs" / "scale.png"


def main() -> None:
    scale = json.loads((common.RESULTS / "scale.json").read_text())
    rows = scale["sizes"]
    if scale.get("reprobe"):  # the ask numbers re-measured when the machine was quieter
        by_size = {x["probe"]["articles"]: x["probe"] for x in scale["reprobe"]}
        rows = [{**r, "probe": by_size.get(r["articles"], r["probe"])} for r in rows]
    n = [r["articles"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    ax1.plot(n, [r["probe"]["ask"]["p50_ms"] for r in rows], "o-", label="ask p50")
    ax1.plot(n, [r["probe"]["ask"]["p95_ms"] for r in rows], "s--", label="ask p95")
    floor = [r["probe"]["stages_mean_ms"]["embed_query"] + r["probe"]["stages_mean_ms"]["vector_search"]
             for r in rows]
    ax1.plot(n, floor, "^:", label="query embedding + vector search (mean)")
    ax1.axhline(30, color="grey", lw=0.8)
    ax1.axhline(100, color="grey", lw=0.8)
    ax1.set(xscale="log", xlabel="articles indexed", ylabel="ms", title="Ask latency (warm, extractive)")
    ax1.legend(fontsize=8)
    ax2.plot(n, [r["probe"]["peak_rss_mb"] for r in rows], "o-", label="ask process peak RSS")
    ax2.plot(n, [r["disk_mb"] for r in rows], "s--", label="data folder on disk")
    chat = common.RESULTS / "chat_scale.json"
    if chat.exists():
        c = json.loads(chat.read_text())
        ax2.plot([n[-1]], [c["peak_rss_max_mb"]], "r*", ms=12, label="chat server peak RSS")
    ax2.axhline(1500, color="grey", lw=0.8)
    ax2.set(xscale="log", xlabel="articles indexed", ylabel="MB", title="Memory and disk")
    ax2.legend(fontsize=8)
    m = scale.get("reprobe_machine") or scale["machine"]
    loads = [r["probe"]["load"][0] for r in rows]
    fig.suptitle(f"{m['cores']} cores, {m['cpu']}, {m['date']}; 1-minute load average during the asks "
                 f"{min(loads)}-{max(loads)} (machine shared with other jobs)", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT)
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
