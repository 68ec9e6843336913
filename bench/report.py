"""Rewrite the results tables of docs/benchmarks.md from bench/results/*.json.

Everything between ``<!-- results -->`` and ``<!-- /results -->`` is generated; the prose
around it is written by hand.

    python bench/report.py
"""

from __future__ import annotations

import json
import re

import common

DOC = common.REPO / "docs" / "benchmarks.md"


def load(name: str) -> dict | None:
    p = common.RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def ctx(r: dict) -> str:
    m = r["machine"]
    return (f"_`python bench/{r['command']}` — {m['date']}, {m['cores']} cores ({m['cpu']}), "
            f"{m['mem_mb'] // 1024} GB, Python {m['python']}; load average (1/5/15 min) "
            f"{r['load_start']} at start, {r.get('load_end')} at end._")


def pc(x: float) -> str:
    return f"{100 * x:.0f}%"


def sections() -> list[str]:
    out = []
    if r := load("ingest_ask"):
        m, g, w, k = r["model_alone"], r["ingest"], r["ask_warm"], r["ask_cold"]
        out += ["### Ingest and ask on the SQuAD file's articles (`bench/ingest_ask.py`)", "", ctx(r), "",
                common.table([
                    ["embedding model alone (ceiling)", f"{m['sentences_per_s']} sentences/s",
                     f"{m['cpu_ms_per_sentence']} CPU ms per sentence"],
                    [f"ingest ({g['articles']} articles, {g['sentences']} sentences)", f"{g['sentences_per_s']} sentences/s",
                     f"{g['cpu_ms_per_sentence']} CPU ms per sentence; {pc(g['vs_model'])} of the model by wall "
                     f"time, {pc(g['vs_model_cpu'])} by CPU time"],
                    [f"warm ask ({w['n']} questions)", f"p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms", f"load {w['load']}"],
                    [f"cold `qa ask` (new process, {len(k['runs_s'])} runs)", f"median {k['median_s']} s",
                     (f"CPU time {k['cpu_s_median']} s; " if "cpu_s_median" in k else "") + f"runs {k['runs_s']}"],
                ], ["what", "result", "detail"]), ""]
    if r := load("scale"):
        c = r["model_ceiling"]
        rows = []
        for s in r["sizes"]:
            p = s["probe"]
            st = p["stages_mean_ms"]
            rows.append([f"{s['articles']:,}", f"{p['sentences']:,}",
                         f"{s['ingest_sentences_per_s']} ({pc(s['ingest_vs_model'])}"
                         + (f"; CPU {pc(s['ingest_vs_model_cpu'])}" if "ingest_vs_model_cpu" in s else "") + ")",
                         p["ask"]["p50_ms"], p["ask"]["p95_ms"],
                         f"{st['embed_query']} + {st['vector_search']} + {st['bm25'] + st['doc_freq'] + st['sentences_around']:.1f} + {st['rest']}",
                         p.get("ask_cpu_ms_mean", "-"), p["peak_rss_mb"], s["ingest_peak_rss_mb"], s["disk_mb"],
                         p["first_answer_s"], "yes" if p["seed_answer_found"] else "no", p["load"]])
        out += ["### Scaling: 100, 1,000, 10,000 articles (`bench/scale.py`)", "", ctx(r), "",
                f"Embedding model alone on the same texts, same run: {c['sentences_per_s']} sentences/s"
                + (f" ({c['cpu_ms_per_sentence']} CPU ms each)" if "cpu_ms_per_sentence" in c else "")
                + f", load {c['load']}.", "",
                common.table(rows, ["articles", "sentences", "ingest sentences/s (of model)", "ask p50 ms", "ask p95 ms",
                                    "where (mean ms): query embedding + vector search + SQLite + scoring/answer",
                                    "ask CPU ms", "ask process peak RSS MB", "ingest process peak RSS MB",
                                    "disk MB", "new process to first answer s", "seed answer cited", "load during asks"]),
                ""]
        if r.get("reprobe"):
            rows = []
            for x in r["reprobe"]:
                p = x["probe"]
                st = p["stages_mean_ms"]
                rows.append([f"{p['articles']:,}", p["ask"]["p50_ms"], p["ask"]["p95_ms"],
                             f"{st['embed_query']} + {st['vector_search']} + {st['bm25'] + st['doc_freq'] + st['sentences_around']:.1f} + {st['rest']}",
                             p["ask_cpu_ms_mean"], p["peak_rss_mb"], p["first_answer_s"],
                             "yes" if p["seed_answer_found"] else "no", p["load"]])
            out += [f"Ask re-measured at the end, on the same folders, when the machine was quieter "
                    f"(`python bench/scale.py --reprobe DIR...`, {r['reprobe_machine']['date']}; the 100 and "
                    f"1,000 folders are from the `--name scale_small` run below):", "",
                    common.table(rows, ["articles", "ask p50 ms", "ask p95 ms",
                                        "where (mean ms): query embedding + vector search + SQLite + scoring/answer",
                                        "ask CPU ms", "ask process peak RSS MB", "new process to first answer s",
                                        "seed answer cited", "load during asks"]), ""]
        out += ["![ask latency and memory against corpus size](scale.png)", ""]
    if r := load("scale_small"):
        c = r["model_ceiling"]
        rows = [[f"{s['articles']:,}", s["step_sentences"], s["ingest_sentences_per_s"], c["sentences_per_s"],
                 pc(s["ingest_vs_model"]), f"{s['ingest_cpu_ms_per_sentence']} vs {c['cpu_ms_per_sentence']}",
                 pc(s["ingest_vs_model_cpu"]), s["ingest_peak_rss_mb"], s["disk_mb"], s["ingest_load"]]
                for s in r["sizes"]]
        out += ["Ingest again for 100 and 1,000 at lower load, with CPU time "
                "(`python bench/scale.py --sizes 100,1000 --work /tmp/qa-bench/small --name scale_small`):", "", ctx(r), "",
                common.table(rows, ["articles", "sentences in step", "ingest sentences/s", "model alone sentences/s",
                                    "ingest / model (wall)", "CPU ms per sentence: ingest vs model",
                                    "ingest / model (CPU)", "ingest process peak RSS MB", "disk MB", "load"]), ""]
    if (r := load("extraction")) and (b := load("extraction_before")):
        rows = []
        for name, x in (("before: hand-written extractor on html.parser", b), ("after: trafilatura + JSON-LD/OpenGraph", r)):
            m = x["summary"]
            rows.append([name, m["precision"], m["recall"], m["f1"], f"{m['refused']}/{m['pages']}",
                         f"{m['titles']}/{m['pages']}", f"{m['dates']}/{m['pages']}", f"{m['sites']}/{m['pages']}",
                         f"{m['authors']}/{m['with_author']}"])
        out += ["### Article extraction from news pages (`bench/extraction.py`)", "", ctx(r), "",
                f"{r['summary']['pages']} pages written for the benchmark (`bench/extraction/pages/`), six site "
                "templates with their clutter; word precision / recall / F1 of the stored text against the "
                "article body, averaged over pages.", "",
                common.table(rows, ["extractor", "precision", "recall", "F1", "refused", "titles", "dates",
                                    "sites", "authors"]), ""]
    if r := load("feed_ingest"):
        g, m = r["ingest"], r["model_alone"]
        rows = [[f"feed of {g['articles']} link-only entries, end to end ({g['sentences']} sentences)",
                 f"{g['seconds']} s", f"{g['cpu_seconds']} CPU s; pages fetched and extracted after "
                 f"{g['fetch_extract_seconds']} s"],
                ["embedding model alone, same texts", f"{m['seconds']} s", f"{m['cpu_seconds']} CPU s"],
                ["ingest speed as a share of the model's", pc(g["vs_model"]), f"{pc(g['vs_model_cpu'])} by CPU time"]]
        for name in ("none", "since+until", "site"):
            a = r[f"ask_{name}"]
            rows.append([f"warm ask, filter: {name} ({a['articles_in_scope']} articles in scope)",
                         f"p50 {a['p50_ms']} ms", f"p95 {a['p95_ms']} ms; load {a['load']}"])
        rounds = "; ".join(f"{pc(x['vs_model'])} by wall, {pc(x['vs_model_cpu'])} by CPU (load {x['load']})"
                           for x in r.get("rounds", []))
        out += ["### A 100-entry feed, end to end (`bench/feed_ingest.py`)", "", ctx(r), "",
                common.table(rows, ["what", "result", "detail"]), ""]
        if rounds:
            out += [f"All rounds: {rounds}.", ""]
    if r := load("floor"):
        m = r["model"]
        rows = [["embedding, batched (ingest ceiling)", f"{m['batch_sentences_per_s']} sentences/s",
                 f"{m['batch_cpu_ms_per_sentence']} CPU ms/sentence"],
                ["embedding one query", f"p50 {m['query']['p50_ms']} ms", f"p95 {m['query']['p95_ms']} ms"]]
        for s in r["stores"]:
            rows += [[f"{s['articles']:,} articles: Chroma query, ids + distances, top 40",
                      f"p50 {s['chroma_query_ids_distances']['p50_ms']} ms", f"p95 {s['chroma_query_ids_distances']['p95_ms']} ms"],
                     [f"{s['articles']:,} articles: `VectorIndex.search` (what ask calls)",
                      f"p50 {s['vector_index_search']['p50_ms']} ms", f"p95 {s['vector_index_search']['p95_ms']} ms"],
                     [f"{s['articles']:,} articles: numpy brute force over all {s['vectors']:,} vectors",
                      f"p50 {s['numpy_bruteforce_top40']['p50_ms']} ms", f"p95 {s['numpy_bruteforce_top40']['p95_ms']} ms"],
                     [f"{s['articles']:,} articles: BM25 top 40 (FTS5)", f"p50 {s['bm25_top40']['p50_ms']} ms",
                      f"p95 {s['bm25_top40']['p95_ms']} ms"]]
        out += ["### The floor (`bench/floor.py`)", "", ctx(r), "", common.table(rows, ["operation", "p50", "p95 / detail"]), ""]
    if r := load("chroma_server"):
        rows = []
        for kind, runs in r["results"].items():
            for p in runs:
                rows.append([kind, f"{p['articles']:,}", p["ask"]["p50_ms"], p["ask"]["p95_ms"],
                             p["stages_mean_ms"]["vector_search"], p.get("ask_cpu_ms_mean", "-"), p["first_answer_s"],
                             p["peak_rss_mb"], p["citations_digest"], p["load"]])
        out += ["### Embedded Chroma vs a Chroma server (`bench/chroma_server.py`)", "", ctx(r), "",
                common.table(rows, ["store", "articles", "ask p50 ms", "ask p95 ms", "vector search ms (mean)",
                                    "ask CPU ms (client)", "first answer s", "client peak RSS MB", "citations digest", "load"]),
                "", f"Same citations for every question: {'yes' if r['same_citations'] else 'NO'}. "
                f"Server process RSS: {r['server_rss']['rss_mb']} MB; server up in {r['server_start_s']} s.", ""]
    if r := load("chat_scale"):
        rows = [[i + 1, x["server_up_s"], x["page_usable_s"], x["rss_after_start"]["rss_mb"],
                 x["ask_via_api"]["p50_ms"], x["rss_after_asks"]["peak_rss_mb"], x["load"]] for i, x in enumerate(r["runs"])]
        out += ["### The chat server on the 10,000-article index (`bench/chat_scale.py`)", "", ctx(r), "",
                common.table(rows, ["run", "HTTP up s", "page usable s", "RSS after start MB", "/ask p50 ms (API)",
                                    "peak RSS MB", "load"]), ""]
    if r := load("vs_llamaindex"):
        rows = []
        for name, x in (("qa-news (this project)", r["ours"]), ("LlamaIndex default pipeline", r["theirs"])):
            rows.append([name, x["unit"], x["records"], x["ingest_s"], x["disk_mb"], x["ask"]["p50_ms"], x["ask"]["p95_ms"],
                         pc(x["first_source_has_answer"]), pc(x["top3_sources_have_answer"]), x["first_source_mean_chars"]])
        out += ["### This project vs plain LlamaIndex (`bench/vs_llamaindex.py`)", "", ctx(r), "",
                f"{r['params']['articles']} articles, {r['params']['questions']} answerable questions.", "",
                common.table(rows, ["pipeline", "a cited source is", "records indexed", "ingest s", "disk MB", "ask p50 ms",
                                    "ask p95 ms", "first source has the answer", "one of the first 3 has it",
                                    "first source length (chars)"]), ""]
    if r := load("http_api"):
        ex = r["extractive"]
        rows = [[i["clients"], i["requests_per_s"], i["p50_ms"], i["p95_ms"], h["requests_per_s"], h["p50_ms"],
                 h["p95_ms"], h["load"]] for i, h in zip(ex["in_process"], ex["http"])]
        gen = [[g["door"], g["qa_concurrency"], f"{g['all_answered_s']} s", g["p50_ms"], g["p95_ms"],
                f"{g['right_answers']}/{g['asks']}", g["most_model_calls_at_once"], g["load"]]
               for g in r["generative"]]
        out += ["### The HTTP API (`bench/http_api.py`)", "", ctx(r), "",
                f"Extractive answers on the seed index, {r['params']['requests']} asks per row: `qa.ask` in "
                "the benchmark's process, and `POST /api/v1/ask` to `qa serve` in another process "
                f"(server RSS {ex['server_rss']['rss_mb']} MB after the run). Settings from the "
                f"environment: {r['params'].get('env') or 'none'}.", "",
                common.table(rows, ["clients at once", "qa.ask req/s", "qa.ask p50 ms", "qa.ask p95 ms",
                                    "HTTP req/s", "HTTP p50 ms", "HTTP p95 ms", "load"]), "",
                f"16 generative questions at once, the model being a scripted OpenAI-protocol server that "
                f"takes {r['params']['delay_s']:g} s per reply; `qa chat` serving:", "",
                common.table(gen, ["door", "QA_CONCURRENCY", "all 16 answered in", "p50 ms", "p95 ms",
                                   "right answers", "model calls at once (most)", "load"]), ""]
    for name in ("load_1replica", "load_2replicas", "load_shared", "load_shared_2first"):
        if r := load(name):
            rows = [[x["replicas"], x["users"], e, x[e]["req_s"], x[e]["p50_ms"], x[e]["p95_ms"],
                     x[e]["requests"], x[e]["failures"], x["load"]]
                    for x in r["runs"] for e in ("POST /api/v1/ask", "POST /v1/chat/completions", "Aggregated")]
            out += [f"### Load: locust against `qa serve` replicas (`bench/load.py`, {name})", "", ctx(r), "",
                    f"{r['params']['articles']} articles; stores: {r['stores']}; each user asks back to "
                    f"back for {r['params']['seconds']} s, half through each endpoint, access log on.", "",
                    common.table(rows, ["replicas", "users", "endpoint", "req/s", "p50 ms", "p95 ms",
                                        "requests", "failures", "load"]), ""]
    for name in ("sizing", "sizing_postgres"):
        if not (r := load(name)):
            continue
        g, p, pg = r["ingest"], r["probe"], r.get("postgres_bytes")
        server = (f"; PostgreSQL's backends {g['server_cpu_s']} CPU s ({g['server_cpu_s_per_article']} an article)"
                  if "server_cpu_s" in g else "")
        catalog = ("PostgreSQL: pg_database_size growth, write-ahead log not counted; by table, an article: "
                   + ", ".join(f"{k} {v['per_article'] / 1000:.1f} KB" for k, v in pg.items()
                               if k != "database" and v["per_article"] >= 100)
                   if pg else "catalog with its write-ahead log")
        out += [f"### Sizing: news-length articles (`bench/sizing.py`, {name})", "", ctx(r), "",
                common.table([
                    ["articles x sentences", f"{g['articles']} x {g['sentences_per_article']} = {g['sentences']:,} "
                     f"sentences, {g['vectors']:,} vectors", f"{g['words_per_article']} words an article"],
                    ["ingest", f"{g['wall_s']} s wall, {g['cpu_s']} CPU s", f"{g['cpu_s_per_article']} CPU s an "
                     f"article; {g['sentences_per_cpu_s']} sentences per CPU s; peak RSS {g['peak_rss_mb']} MB; "
                     f"load {g['load']}{server}"],
                    ["disk", f"catalog {g['disk_mb']['catalog']} MB, Chroma {g['disk_mb']['chroma']} MB",
                     f"{g['disk_kb_per_article']['catalog']} + {g['disk_kb_per_article']['chroma']} KB an article "
                     f"({catalog}); Chroma {g['chroma_bytes_per_vector']} bytes a vector"],
                    ["a fresh process asking", f"p50 {p['ask']['p50_ms']} ms, p95 {p['ask']['p95_ms']} ms",
                     f"RSS {p['rss_mb']} MB; store open in {p['open_store_s']} s; load {p['load']}"],
                ], ["what", "result", "detail"]), ""]
    return out


def main() -> None:
    text = DOC.read_text()
    body = "\n".join(sections())
    text = re.sub(r"<!-- results -->.*<!-- /results -->", lambda _: f"<!-- results -->\n{body}\n<!-- /results -->",
                  text, flags=re.S)
    DOC.write_text(text)
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
