"""Fit the fusion model and the abstention model of a trained reader; write its card.

On data the reader never trained on: the news sets' calibration articles (v3: events), and the SQuAD 2.0
articles of ``../shared/eval`` (the reader trains on news and SelQA only, so any SQuAD fold can
fit the fusion; ``train.ablation`` measures each fold with a card fitted on the other):
1. the reader reads each question's top candidates from the retriever (the dumps of
   ``train.mine``);
2. a logistic regression over the reader's logit and the retriever's features
   (``qa.rerank.FEATURES``) learns P(sentence answers), news and SQuAD weighted equally;
3. a second one over the reranked list (``qa.rerank.QUESTION_FEATURES``) learns P(the question
   is answered by some candidate), from the news answerable vs near-miss questions;
4. its threshold is the highest that keeps abstentions on answerable questions within
   ``--max-abstain`` in news and in SQuAD alike; the typed rule's floor and the citation
   rules are chosen the same way.
Writes ``reader.json`` next to the model.
Usage: python -m train.fit [--model DIR] [--squad-folds A B | none]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from qa.reader import MODEL_DIR, Reader
from qa.rerank import FEATURES, QUESTION_FEATURES, card_abstains, cited, features, question_features
from qa.retrieve import confidence
from train.dumps import CACHE, load
from train.mine import contains

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


def _cand(c: dict, rank: int, n: int, prob: float = 0.0) -> SimpleNamespace:
    """A dumped candidate as qa.rerank sees one (the features it adds included)."""
    return SimpleNamespace(prob=prob, features=c["features"] | {
        "reader": c.get("reader", 0.0), "base": c["score"], "rank": rank / max(1, n - 1)})


def ranked(q: dict, p: np.ndarray) -> list[SimpleNamespace]:
    n = len(q["cands"])
    return [_cand(q["cands"][i], i, n, float(p[i])) for i in np.argsort(-p)]


def matrix(q: dict) -> np.ndarray:
    n = len(q["cands"])
    rows = [features(_cand(c, r, n)) for r, c in enumerate(q["cands"])]
    return np.array(rows, dtype=np.float64).reshape(n, len(FEATURES))


def set_weights(questions: list[dict]) -> np.ndarray:
    """Per question: each collection (news, SQuAD) weighs the same in total."""
    sizes = {}
    for q in questions:
        sizes[q["set"]] = sizes.get(q["set"], 0) + 1
    return np.array([len(questions) / (len(sizes) * sizes[q["set"]]) for q in questions])


def logistic(X: np.ndarray, y: np.ndarray, weight: np.ndarray, names) -> dict:
    """A logistic regression on standardised X, its weights folded back to raw features."""
    from sklearn.linear_model import LogisticRegression
    mu, sd = X.mean(0), X.std(0) + 1e-9
    lr = LogisticRegression(C=1.0, max_iter=2000).fit((X - mu) / sd, y, sample_weight=weight)
    w = lr.coef_[0] / sd
    b = float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())
    return {"features": list(names), "weights": [round(float(x), 6) for x in w], "bias": round(b, 6)}


def fit_fusion(questions: list[dict]) -> dict:
    qs = [q for q in questions if q["cands"]]
    qw = set_weights(qs)
    X = np.vstack([matrix(q) for q in qs])
    # label -1 (v3: another outlet's sentence holding the answer) answers too
    y = np.concatenate([[int(c["label"] != 0) for c in q["cands"]] for q in qs])
    w = np.concatenate([[qw[i]] * len(q["cands"]) for i, q in enumerate(qs)])
    return logistic(X, y, w, FEATURES)


def fit_abstention(questions: list[dict], fusion: dict) -> dict:
    """News answerable questions whose answer is among the candidates against near-miss ones
    (answerable ones the retriever missed are left out: neither label fits). SQuAD's
    unanswerable questions are left out too: fitted with them, the model separated neither
    collection (ROC AUC 0.67 on news dev, 0.50-0.58 on SQuAD; without: 0.85, 0.54-0.66)."""
    qs = [q for q in questions if q["set"] in ("news", "v3") and q["cands"] and
          (not q["answerable"] or any(c["label"] for c in q["cands"]))]
    X = np.array([question_features(ranked(q, probs(q, fusion))) for q in qs])
    y = np.array([q["answerable"] for q in qs], dtype=int)
    return logistic(X, y, set_weights(qs), QUESTION_FEATURES)


def p_answerable(q: dict, p: np.ndarray, card: dict) -> float:
    m = card["abstention"]
    key = (q["set"], q["qid"], id(m), id(p))
    if key not in _MEMO:
        _MEMO[key] = _p_answerable(q, p, m)
    return _MEMO[key]


def _p_answerable(q: dict, p: np.ndarray, m: dict) -> float:
    z = m["bias"] + float(np.dot(m["weights"], question_features(ranked(q, p))))
    return float(1 / (1 + np.exp(-np.clip(z, -30, 30))))


_MEMO: dict = {}  # (question, fusion or abstention model) -> probabilities; the grids reuse them


def probs(q: dict, fusion: dict | None) -> np.ndarray:
    key = (q["set"], q["qid"], id(fusion))
    if key not in _MEMO:
        _MEMO[key] = _probs(q, fusion)
    return _MEMO[key]


def _probs(q: dict, fusion: dict | None) -> np.ndarray:
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
    if abstain and card_abstains(q["q"], card, confidence(_cand(q["cands"][order[0]], 0, 1)),
                                 p_answerable(q, p, card),
                                 [(p[i], q["cands"][i]["text"], q["cands"][i]["features"]["typed"]) for i in order]):
        return [], True
    return [order[i] for i in cited([float(p[i]) for i in order], card, 3)], False


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


def choose(questions: list[dict], fusion: dict, abstention: dict, max_abstain: float,
           max_citations: float) -> dict:
    """Thresholds: as much abstention on unanswerable questions as the answerable budget allows,
    the budget holding in each collection."""
    base = {"cite_floor": 0.5, "cite_ratio": 0.6, "typed_floor": None, "abstention": abstention}
    sets = sorted({q["set"] for q in questions})
    by_set = {n: [q for q in questions if q["set"] == n] for n in sets}
    top = np.array([p_answerable(q, probs(q, fusion), base) for q in questions if q["answerable"] and q["cands"]])
    best = None
    for th in sorted(set(np.quantile(top, np.linspace(0, 2 * max_abstain, 17)).round(4))):
        # the typed rule stays on ("How tall is Donald Trump?" over an article with no height
        # abstains whatever the threshold); only its floor is chosen
        for tf in (0.5, 0.3, 0.2, 0.1, 0.05, 0.02):
            card = base | {"threshold": round(float(th), 4), "typed_floor": tf}
            rs = [metrics(by_set[n], fusion, card) for n in sets]
            if any(r["abstained_answerable"] > max_abstain for r in rs):
                continue
            key = (float(np.mean([r["abstained_unanswerable"] for r in rs])),
                   -float(np.mean([r["abstained_answerable"] for r in rs])))
            if best is None or key > best[0]:
                best = (key, card)
    card = best[1]
    # citations: the floor/ratio that maximise "any cited holds the answer" without citing
    # more than max_citations sentences on average
    options = []
    for fl in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        for ra in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            c = card | {"cite_floor": fl, "cite_ratio": ra}
            r = metrics(questions, fusion, c)
            if r["citations"] <= max_citations:
                options.append((r["any"], -r["citations"], c))
    return max(options, key=lambda o: o[:2])[2] if options else card


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def separation(questions: list[dict], fusion: dict, card: dict) -> float | None:
    """ROC AUC of P(answerable) between answerable and unanswerable questions (0.5: chance)."""
    from sklearn.metrics import roc_auc_score
    qs = [q for q in questions if q["cands"]]
    y = [q["answerable"] for q in qs]
    if len(set(y)) < 2:
        return None
    return round(float(roc_auc_score(y, [p_answerable(q, probs(q, fusion), card) for q in qs])), 4)


def read_cached(reader: Reader, sha: str, questions: list[dict], cache: Path) -> None:
    """``read_all``, remembered per model (``cache/read-SHA.jsonl``): fitting several cards for
    one model reads each question once."""
    f = cache / f"read-{sha[:12]}.jsonl"
    done = {}
    if f.is_file():
        done = {(d["set"], d["qid"]): d["cands"] for d in map(json.loads, f.read_text().splitlines())}
    todo = [q for q in questions if (q["set"], q["qid"]) not in done]
    read_all(reader, todo)
    with f.open("a") as out:
        for q in todo:
            out.write(json.dumps({"set": q["set"], "qid": q["qid"], "cands": q["cands"]}) + "\n")
    for q in questions:
        q["cands"] = done.get((q["set"], q["qid"]), q["cands"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR, help="folder with reader-int8.onnx")
    ap.add_argument("--squad-folds", nargs="+", default=["A", "B"],
                    help="SQuAD article folds to fit on (none: news only)")
    ap.add_argument("--out", type=Path, help="folder for the card (and a copy of the model); "
                                             "default: the model's folder")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--max-abstain", type=float, default=0.03,
                    help="abstentions allowed on answerable questions (in news and in SQuAD)")
    ap.add_argument("--max-citations", type=float, default=2.0,
                    help="citations per answer, on average (a second or third sentence is cited "
                         "when likely enough)")
    a = ap.parse_args(argv)
    onnx = a.model / "reader-int8.onnx"
    sha = sha256(onnx)
    reader = Reader(onnx, None)
    news = load(a.cache / "news.jsonl")
    v3 = load(a.cache / "v3.jsonl") if (a.cache / "v3.jsonl").is_file() else []
    squad = load(a.cache / "squad.jsonl")
    parts = {f"{name} {split}": [q for q in qs if q["split"] == split]
             for name, qs in (("news", news), ("v3", v3)) if qs for split in ("calib", "dev")}
    # every tenth training question: how well the reader fits what it trained on (reported only)
    parts |= {f"{name} train/10": [q for q in qs if q["split"] == "train"][::10]
              for name, qs in (("news", news), ("v3", v3)) if qs}
    parts |= {f"SQuAD {f}": [q for q in squad if q["split"] == f] for f in ("A", "B")}
    for qs in parts.values():
        read_cached(reader, sha, qs, a.cache)
    folds = [f for f in a.squad_folds if f != "none"]
    calib = [p for p in parts if p.endswith(" calib")]
    fit_on = [q for p in calib for q in parts[p]] + [q for f in folds for q in parts[f"SQuAD {f}"]]
    fusion = fit_fusion(fit_on)
    abstention = fit_abstention(fit_on, fusion)
    card = choose(fit_on, fusion, abstention, a.max_abstain, a.max_citations)
    report = {name: {part: metrics(qs, f, card, ab) for part, qs in parts.items()}
              for name, f, ab in (("reader", None, False), ("fused", fusion, False),
                                  ("fused+abstain", fusion, True))}
    report["abstention AUC"] = {part: separation(qs, fusion, card) for part, qs in parts.items()}
    out_dir = a.out or a.model
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("reader-int8.onnx", "reader-train.json"):
        if out_dir.resolve() != a.model.resolve():
            shutil.copy(a.model / name, out_dir / name)
    train_meta = json.loads((a.model / "reader-train.json").read_text())
    out = {"fusion": fusion, **card, "fitted_on": calib + [f"SQuAD {f}" for f in folds],
           "train": train_meta,
           "model": {"file": onnx.name, "bytes": onnx.stat().st_size, "sha256": sha},
           "calibration": report}
    (out_dir / "reader.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "calibration"}, indent=1))
    for name, r in report.items():
        for part, m in r.items():
            print(f"{name:14} {part:11} {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
