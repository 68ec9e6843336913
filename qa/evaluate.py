"""``qa eval``: build a fresh index from a benchmark file's contexts and ask all its questions.

Format (see the benchmark README): one JSON object per line with ``title``, ``context``,
``question``, ``answers`` (empty = unanswerable) and optional ``supporting_sentences``.
SQuAD contexts are paragraphs of an article: one article per title, paragraphs joined.
HotpotQA contexts are ten "Title\\ntext" paragraphs: one article per paragraph. Anything
else: one article per distinct context. Every question is asked against the whole index.
"""

from __future__ import annotations

import json
import re
import string
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from index.types import Document
from index.settings import Settings
from index.types import Answer, QAError


def load_records(path: str, limit: int | None = None) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise QAError(f"{path}: no such file; give a benchmark .jsonl file.")
    records = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                raise QAError(f"{path}:{n}: not valid JSON; expected one record per line.") from None
            if not isinstance(r, dict) or "question" not in r or "context" not in r:
                raise QAError(f"{path}:{n}: a record needs 'question' and 'context'.")
            records.append(r)
    return records[:limit] if limit else records


def documents(records: list[dict]) -> list[Document]:
    """The articles to index for these records (all of the file's contexts, not only asked ones)."""
    docs: dict[str, Document] = {}
    paragraphs: dict[str, dict[int, str]] = {}
    for r in records:
        ds = r.get("dataset", "")
        if ds.startswith("squad"):
            idx = (r.get("meta") or {}).get("paragraph_index", len(paragraphs.get(r["title"], {})))
            paragraphs.setdefault(r["title"], {}).setdefault(idx, r["context"])
        elif ds.startswith("hotpot"):
            for para in re.split(r"\n\s*\n", r["context"]):
                title, _, body = para.partition("\n")
                if body.strip():
                    docs.setdefault(para, Document(title.strip(), body.strip(), f"eval:{title.strip()}"))
        else:
            ctx = r["context"]
            docs.setdefault(ctx, Document(r.get("title") or ctx[:60], ctx, f"eval:{len(docs)}"))
    for title, paras in paragraphs.items():
        text = "\n\n".join(paras[i] for i in sorted(paras))
        docs[title] = Document(title, text, f"eval:{title}")
    return list(docs.values())


def run(path: str, *, limit: int | None = None, settings: Settings | None = None,
        show_progress: bool = False) -> dict:
    from qa import api

    all_records = load_records(path)
    records = all_records[:limit] if limit else all_records
    base = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        s = replace(base, data_dir=Path(tmp), seed_dir=None, chroma_url="")
        docs = documents(all_records if not limit else records)
        store = api.open_store(s, seed=False)
        if s.database_url and store.catalog.count():  # never mix benchmark articles into real ones
            api.close_store(s)
            raise QAError("qa eval builds its own index: with QA_DATABASE_URL give it an empty "
                          "database (e.g. createdb qa_eval), not one holding articles.")
        try:
            t0 = time.perf_counter()
            store.add_documents(docs, progress=_bar("indexing", show_progress))
            ingest_s = time.perf_counter() - t0
            rows, latencies = [], []
            tick = _bar("asking", show_progress)
            for n, r in enumerate(records, 1):
                t = time.perf_counter()
                ans = api.ask(r["question"], settings=s)
                latencies.append(time.perf_counter() - t)
                rows.append(score(r, ans))
                tick(n, len(records))
        finally:
            if s.database_url:  # its vectors go with the temporary folder: so do its articles
                for a in store.list_articles():
                    store.remove(a.id)
            api.close_store(s)
    report = summarise(rows, latencies)
    report.update({"file": str(path), "articles": len(docs), "ingest_seconds": round(ingest_s, 2),
                   "embed_model": base.embed_model})
    return report


def _bar(desc: str, show: bool):
    if not show:
        return lambda done, total: None
    from qa.progress import progress_bar
    return progress_bar(desc)


_SEPARATORS = re.compile(r"[\u2010-\u2015/-]")
_PUNCT = set(string.punctuation) | {"‘", "’", "“", "”", "–", "—"}


def normalize(s: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(c for c in s if c not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def _contains(sentence: str, golds: list[str]) -> bool:
    # dashes and slashes separate words here ("1920–1999" holds "1999"); SQuAD's own
    # normalisation would glue them into one token
    ns = " " + normalize(_SEPARATORS.sub(" ", sentence)) + " "
    wanted = [normalize(_SEPARATORS.sub(" ", g)) for g in golds]
    return any(f" {g} " in ns for g in wanted if g)


def score(record: dict, ans: Answer) -> dict:
    golds = record.get("answers") or []
    # an abstention may cite the sentence saying the detail is withheld: that is no answer
    cites = [] if ans.abstained else [c.sentence for c in ans.citations]
    row = {"answerable": bool(golds), "abstained": ans.abstained}
    if golds:
        row["first"] = bool(cites) and _contains(cites[0], golds)
        row["any"] = any(_contains(c, golds) for c in cites[:3])
        c0 = ans.citations[0] if ans.citations else None
        if c0 is None:
            pred = ""
        elif c0.answer_start is not None:
            pred = c0.sentence[c0.answer_start - c0.start:c0.answer_end - c0.start]
        else:
            pred = c0.sentence
        row["em"] = max(float(normalize(pred) == normalize(g)) for g in golds)
        row["f1"] = max(f1(pred, g) for g in golds)
    support = record.get("supporting_sentences")
    if support:
        gold_s = [normalize(x) for x in support]
        hit = [any(f1(c, g) >= 0.8 for g in gold_s) for c in cites]
        row["cite_precision"] = sum(hit) / len(cites) if cites else 0.0
        row["cite_recall"] = sum(any(f1(c, g) >= 0.8 for c in cites) for g in gold_s) / len(gold_s)
    return row


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [float(r[key]) for r in rows if key in r]
    return round(sum(vals) / len(vals), 4) if vals else None


def summarise(rows: list[dict], latencies: list[float]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    lat = sorted(latencies)

    def pct(p: float) -> float | None:
        return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None

    return {
        "questions": len(rows), "answerable": len(ans), "unanswerable": len(unans),
        "first_citation_has_answer": _mean(ans, "first"),
        "any_citation_has_answer": _mean(ans, "any"),
        "span_em": _mean(ans, "em"), "span_f1": _mean(ans, "f1"),
        "abstained_answerable": _mean(ans, "abstained"),
        "abstained_unanswerable": _mean(unans, "abstained"),
        "citation_precision": _mean(rows, "cite_precision"),
        "citation_recall": _mean(rows, "cite_recall"),
        "latency_ms_p50": pct(0.5), "latency_ms_p95": pct(0.95),
    }


def format_report(r: dict) -> str:
    def pc(v):
        return "n/a" if v is None else f"{100 * v:.1f}%"
    lines = [
        f"{r['file']}: {r['questions']} questions ({r['answerable']} answerable), "
        f"{r['articles']} articles indexed in {r['ingest_seconds']} s [{r['embed_model']}]",
        f"  first citation contains a gold answer: {pc(r['first_citation_has_answer'])}",
        f"  some citation (<= 3) contains one:     {pc(r['any_citation_has_answer'])}",
        f"  span exact match / F1:                 {pc(r['span_em'])} / {pc(r['span_f1'])}",
        f"  abstained, answerable:                 {pc(r['abstained_answerable'])}",
        f"  abstained, unanswerable:               {pc(r['abstained_unanswerable'])}",
        f"  citation precision / recall:           {pc(r['citation_precision'])} / {pc(r['citation_recall'])}",
        f"  latency p50 / p95:                     {r['latency_ms_p50']} ms / {r['latency_ms_p95']} ms",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(format_report(run(sys.argv[1], show_progress=True)))
