"""The ablation table: today's scorer, + reader, + fusion, + abstention, through ``qa.ask``.

Every row runs the product end to end (retrieval, reranking, answer, citations) on a fresh index,
with only QA_RERANKER changed, and scores answers as ``qa eval`` does:
- news dev: all news articles written here indexed together; the dev articles' questions asked
  (the reader never trained on them; fusion and thresholds were fitted on other articles);
- news v3 dev: the same for the real-news-shaped set (its dev split is by event), by style;
- SQuAD 2.0 (../shared/eval): all 8 articles indexed; the reader never trained on SQuAD, and
  each fold's questions are answered with the card (fusion, abstention) fitted on the other
  fold (article-level cross-validation; ``train.fit --squad-folds A --out DIR``);
- HotpotQA (../shared/eval): never trained on; citation precision / recall.
Usage: python -m train.ablation --models A=train/cache/fit-A B=train/cache/fit-B [--shared DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from index.loading import Document
from index.settings import Settings
from qa import api
from qa.evaluate import documents, load_records, score, summarise
from qa.reader import MODEL_DIR
from train.dumps import CACHE
from train.mine import NEWS, ROOT, V3, load_news, split_of, squad_fold

ROWS = (("today's scorer", "off"), ("+ reader", "reader"), ("+ fusion", "fused"),
        ("+ abstention", "on"))


def news_records(folder: Path = NEWS) -> tuple[list[Document], list[dict]]:
    """All the set's articles, and its dev questions; ``group``: the question's style (v3), or
    near-miss / withheld (the article says the detail is withheld)."""
    arts = load_news(folder)
    docs = [Document(a["title"], a["text"], f"news:{a['id']}") for a in arts]
    recs = []
    for a in arts:
        if split_of(a) != "dev":
            continue
        recs += [{"question": q["q"], "answers": [q["answer"]], "group": q.get("style")}
                 for q in a["questions"]]
        recs += [{"question": q["q"], "answers": [],
                  "group": "withheld" if q.get("withheld") else "near-miss"} for q in a["near_miss"]]
    return docs, recs


def run(docs, recs, models: dict[str, str], pick_model, steps=ROWS, settings: Settings | None = None
        ) -> dict:
    """Each of ``steps`` (label, QA_RERANKER[, another reader's folder]) over one fresh index;
    ``settings`` may name an empty PostgreSQL catalog (bench/catalog_quality.py compares the two
    catalogs this way)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="qa-ablation-") as tmp:
        base = replace(settings or Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
        api.open_store(base, seed=False).add_documents(docs)
        for label, mode, *other in steps:
            rows, lat = [], []
            for r in recs:
                s = base.with_(reranker=mode, reader_model=other[0] if other else models[pick_model(r)])
                t = time.perf_counter()
                ans = api.ask(r["question"], settings=s)
                lat.append(time.perf_counter() - t)
                rows.append(score(r, ans) | {"group": r.get("group")})
            out[label] = summarise(rows, lat)
            groups = sorted({x["group"] for x in rows if x["group"]})
            if groups:
                out[label]["by group"] = {g: summarise([x for x in rows if x["group"] == g], [])
                                          for g in groups}
            print(f"  {label}: {json.dumps(out[label])}", file=sys.stderr, flush=True)
        api.close_store(base)
    return out


def table(results: dict) -> str:
    def pc(v):
        return "" if v is None else f"{100 * v:.1f}"
    lines = ["| set | row | first | any cited (<= 3) | answerable abstained | unanswerable abstained "
             "| span F1 | cite P / R | p50 ms |", "|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        for label, r in rows.items():
            pr = (f"{pc(r['citation_precision'])} / {pc(r['citation_recall'])}"
                  if r.get("citation_precision") is not None else "")
            lines.append(f"| {name} | {label} | {pc(r['first_citation_has_answer'])} | "
                         f"{pc(r['any_citation_has_answer'])} | {pc(r['abstained_answerable'])} | "
                         f"{pc(r['abstained_unanswerable'])} | {pc(r['span_f1'])} | {pr} | "
                         f"{r['latency_ms_p50']} |")
    for name, rows in results.items():
        final = next((r["by group"] for label, r in rows.items()
                      if label.startswith("+ abstention") and "shipped" in label), None) or \
            rows.get("+ abstention", {}).get("by group")
        before = rows.get("before: previous reader", {}).get("by group", {})
        if final:
            lines += ["", f"{name}, by question kind (all on; before -> now where a previous reader ran)",
                      "| kind | questions | first | any cited (<= 3) | abstained |", "|---|---|---|---|---|"]

            def cell(g, key_a, key_u=None):
                def one(r):
                    return pc(r[key_a] if r["answerable"] or key_u is None else r[key_u])
                now = one(final[g])
                return f"{one(before[g])} -> {now}" if g in before and now else now
            for g, r in final.items():
                lines.append(f"| {g} | {r['questions']} | {cell(g, 'first_citation_has_answer')} | "
                             f"{cell(g, 'any_citation_has_answer')} | "
                             f"{cell(g, 'abstained_answerable', 'abstained_unanswerable')} |")
    return "\n".join(lines)


def save(results: dict, path: Path) -> None:
    """After each set, so that a long run stopped midway keeps what it measured."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+",
                    default=[f"{f}={CACHE / ('fit-' + f)}" for f in ("A", "B")],
                    help="FOLD=DIR: the reader with its card fitted on that SQuAD fold (A and B)")
    ap.add_argument("--shipped", type=Path, default=MODEL_DIR,
                    help="the reader and card for news and HotpotQA")
    ap.add_argument("--shared", type=Path, default=ROOT.parent.parent / "shared")
    ap.add_argument("--sets", nargs="+", default=["news", "v3", "squad", "hotpot"])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "ablation.json")
    ap.add_argument("--rows", nargs="+", choices=[m for _, m in ROWS], default=[m for _, m in ROWS],
                    help="QA_RERANKER values to run (default: every row)")
    ap.add_argument("--before", type=Path,
                    help="a previous reader's folder: its row (all on) is added to the news sets' tables")
    ap.add_argument("--v3-every", type=int, default=1, help="ask every Nth v3 dev question only")
    a = ap.parse_args(argv)
    steps = tuple(r for r in ROWS if r[1] in a.rows)
    news_steps = steps + ((("before: previous reader", "on", str(a.before.resolve())),) if a.before else ())
    models = dict(m.split("=", 1) for m in a.models)
    models = {k: str(Path(v).resolve()) for k, v in models.items()}
    shipped = str(a.shipped.resolve())
    results = json.loads(a.out.read_text()) if a.out.is_file() else {}
    if "news" in a.sets:
        print("news dev", file=sys.stderr)
        docs, recs = news_records()
        results["news dev"] = run(docs, recs, {"A": shipped}, lambda r: "A", news_steps)
        save(results, a.out)
    if "v3" in a.sets:
        print("news v3 dev (split by event)", file=sys.stderr)
        docs, recs = news_records(V3)
        results["news v3 dev"] = run(docs, recs[::a.v3_every], {"A": shipped}, lambda r: "A", news_steps)
        save(results, a.out)
    if "squad" in a.sets:
        print("SQuAD 2.0, by article fold", file=sys.stderr)
        records = load_records(str(a.shared / "eval" / "squad_v2_dev.jsonl"))
        other = {"A": "B", "B": "A"}
        folds = [f for f in ("A", "B") if other[f] in models]
        recs = [r for r in records if squad_fold(r["title"]) in folds]
        results[f"SQuAD folds {'+'.join(folds)}"] = run(
            documents(records), recs, models, lambda r: other[squad_fold(r["title"])], steps)
        save(results, a.out)
    if "hotpot" in a.sets:
        print("HotpotQA", file=sys.stderr)
        records = load_records(str(a.shared / "eval" / "hotpotqa_dev_distractor.jsonl"))
        results["HotpotQA"] = run(documents(records), records, {"A": shipped}, lambda r: "A", steps)
        save(results, a.out)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
