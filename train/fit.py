"""Fit the fusion model and the abstention thresholds of a trained reader; write its card.

On the news set's calibration articles (never trained on by the reader, never measured on):
1. the reader reads each question's top candidates from the retriever (the dumps of
   ``train.mine``);
2. a logistic regression over the reader's logit and the retriever's features
   (``qa.rerank.FEATURES``) learns P(sentence answers);
3. the abstention threshold is the highest one that keeps abstentions on answerable
   calibration questions within ``--max-abstain``; the typed rule's floor and the citation
   rules are chosen the same way.
Writes ``reader.json`` next to the model. Usage: python -m train.fit [--model DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from qa.reader import MODEL_DIR, Reader
from qa.rerank import FEATURES, MIN_RELEVANCE, TYPED_ABSTAIN
from qa.retrieve import confidence
from qa.spans import answer_type
from train.mine import CACHE, contains, load

TOP = 20


def read_all(reader: Reader, questions: list[dict], top: int = TOP) -> None:
    """Adds ``reader`` (logit) and ``rspan`` to each candidate, in place."""
    for q in questions:
        cands = q["cands"][:top]
        q["cands"] = cands
        if not cands:
            continue
        logits, spans = reader.run(q["q"], [(c["text"], c["title"]) for c in cands])
        for c, l, s in zip(cands, logits, spans):
            c["reader"] = float(l)
            c["rspan"] = list(s[:2]) if s else None


def matrix(q: dict) -> np.ndarray:
    n = len(q["cands"])
    rows = []
    for rank, c in enumerate(q["cands"]):
        f = c["features"] | {"reader": c["reader"], "base": c["score"], "rank": rank / max(1, n - 1)}
        rows.append([f[k] for k in FEATURES])
    return np.array(rows, dtype=np.float64).reshape(n, len(FEATURES))


def fit_fusion(questions: list[dict]) -> dict:
    from sklearn.linear_model import LogisticRegression
    X = np.vstack([matrix(q) for q in questions if q["cands"]])
    y = np.concatenate([[c["label"] for c in q["cands"]] for q in questions if q["cands"]])
    mu, sd = X.mean(0), X.std(0) + 1e-9
    lr = LogisticRegression(C=1.0, max_iter=2000).fit((X - mu) / sd, y)
    w = lr.coef_[0] / sd  # folded back to raw features
    b = float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())
    return {"features": list(FEATURES), "weights": [round(float(x), 6) for x in w], "bias": round(b, 6)}


def probs(q: dict, fusion: dict | None) -> np.ndarray:
    X = matrix(q)
    z = X[:, 0] if fusion is None else X @ np.array(fusion["weights"]) + fusion["bias"]
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def hit(q: dict, c: dict) -> bool:
    return bool(c["label"]) or (q["answerable"] and contains(c["text"], q["answers"]))


def decide(q: dict, p: np.ndarray, card: dict, abstain: bool = True):
    """(order of cited candidates, abstained) as qa.extractive does with the reader on."""
    if not q["cands"]:
        return [], True
    order = list(np.argsort(-p))
    best = p[order[0]]
    if abstain:
        if best < card["threshold"] or relevance(q["cands"][order[0]]) < MIN_RELEVANCE:
            return [], True
        if card["typed_floor"] is not None and answer_type(q["q"]) in TYPED_ABSTAIN:
            likely = order[:1] + [i for i in order[1:] if p[i] >= card["typed_floor"]]
            if not any(q["cands"][i]["features"]["typed"] for i in likely):
                return [], True
    floor = max(card["cite_floor"], card["cite_ratio"] * best)
    return order[:1] + [i for i in order[1:3] if p[i] >= floor], False


def relevance(c: dict) -> float:
    return confidence(type("Cand", (), {"features": c["features"]})())


def metrics(questions: list[dict], fusion: dict | None, card: dict, abstain: bool = True) -> dict:
    first, any_, ncite, abst_a, abst_u, f1s = [], [], [], [], [], []
    from qa.evaluate import f1 as span_f1
    for q in questions:
        p = probs(q, fusion) if q["cands"] else np.zeros(0)
        chosen, ab = decide(q, p, card, abstain)
        if q["answerable"]:
            abst_a.append(ab)
            first.append(bool(chosen) and hit(q, q["cands"][chosen[0]]))
            any_.append(any(hit(q, q["cands"][i]) for i in chosen))
            ncite.append(len(chosen))
            if chosen:
                c = q["cands"][chosen[0]]
                pred = c["text"][c["rspan"][0]:c["rspan"][1]] if c.get("rspan") else c["text"]
                f1s.append(max(span_f1(pred, g) for g in q["answers"]))
            else:
                f1s.append(0.0)
        else:
            abst_u.append(ab)
    m = lambda v: round(float(np.mean(v)), 4) if v else None  # noqa: E731
    return {"answerable": len(first), "unanswerable": len(abst_u), "first": m(first), "any": m(any_),
            "citations": m(ncite), "abstained_answerable": m(abst_a),
            "abstained_unanswerable": m(abst_u), "span_f1": m(f1s)}


def choose(questions: list[dict], fusion: dict, max_abstain: float) -> dict:
    """Thresholds: as much abstention on unanswerable questions as the answerable budget allows."""
    base = {"cite_floor": 0.5, "cite_ratio": 0.6, "typed_floor": None}
    best = None
    top = np.array([probs(q, fusion).max() for q in questions if q["answerable"] and q["cands"]])
    for th in sorted(set(np.quantile(top, np.linspace(0, max_abstain, 13)).round(4))):
        for tf in (None, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02):  # None = typed rule off
            card = base | {"threshold": round(float(th), 3), "typed_floor": tf}
            r = metrics(questions, fusion, card)
            if r["abstained_answerable"] > max_abstain:
                continue
            key = (r["abstained_unanswerable"], -r["abstained_answerable"])
            if best is None or key > best[0]:
                best = (key, card)
    card = best[1]
    # citations: the floor/ratio that maximise "any cited holds the answer" without citing
    # more than 1.6 sentences on average
    options = []
    for fl in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        for ra in (0.4, 0.5, 0.6, 0.7, 0.8):
            c = card | {"cite_floor": fl, "cite_ratio": ra}
            r = metrics(questions, fusion, c)
            if r["citations"] <= 1.6:
                options.append((r["any"], -r["citations"], c))
    return max(options, key=lambda o: o[:2])[2] if options else card


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR, help="folder with reader-int8.onnx")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--max-abstain", type=float, default=0.03)
    a = ap.parse_args(argv)
    reader = Reader(a.model / "reader-int8.onnx", None)
    news = load(a.cache / "news.jsonl")
    calib = [q for q in news if q["split"] == "calib"]
    dev = [q for q in news if q["split"] == "dev"]
    read_all(reader, calib)
    read_all(reader, dev)
    fusion = fit_fusion(calib)
    card = choose(calib, fusion, a.max_abstain)
    report = {name: {"calib": metrics(calib, f, card, ab), "dev": metrics(dev, f, card, ab)}
              for name, f, ab in (("reader", None, False), ("fused", fusion, False),
                                  ("fused+abstain", fusion, True))}
    train_meta = json.loads((a.model / "reader-train.json").read_text())
    onnx = a.model / "reader-int8.onnx"
    out = {"fusion": fusion, **card, "train": train_meta,
           "model": {"file": onnx.name, "bytes": onnx.stat().st_size, "sha256": sha256(onnx)},
           "calibration": report}
    (a.model / "reader.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "calibration"}, indent=1))
    for name, r in report.items():
        print(name, "calib", r["calib"])
        print(name, "dev  ", r["dev"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
