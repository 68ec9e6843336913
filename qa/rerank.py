"""Reranking the retriever's candidates with the reader, and deciding when to abstain.

Each of the top candidates gets the reader's answer logit and span; a logistic model (fitted
on the calibration articles of the news set, see train/fit.py) combines the logit with the
retriever's features into ``prob``: the probability that the sentence answers the question.
The answer abstains when no candidate is likely enough, or when the question asks for a number
or a date and no likely candidate holds one. Weights and thresholds come from the model card
(``reader.json``) next to the model, so a retrained model brings its own.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from index.settings import Settings
from qa.reader import MODEL_DIR, Reader
from qa.retrieve import Candidate, confidence
from qa.spans import answer_type

# the features the fusion model reads, in order; all but "reader" come from qa.retrieve
FEATURES = ("reader", "dense", "cover", "cover_ctx", "rrf", "typed", "pairs", "base", "rank")
TYPED_ABSTAIN = ("number", "date", "duration")  # types a sentence visibly holds or lacks
# a first sentence holding this little of the question's words and meaning is not an answer,
# whatever the reader says (on the calibration articles: 0.1% of answerable questions)
MIN_RELEVANCE = 0.25


@lru_cache(maxsize=4)
def _reader(folder: str) -> Reader:
    d = Path(folder) if folder else MODEL_DIR
    return Reader(d / "reader-int8.onnx", d / "reader.json")


def reader_for(settings: Settings) -> Reader:
    return _reader(settings.reader_model)


def features(c: Candidate, rank: int, n: int) -> list[float]:
    f = c.features
    return [f["reader"], f["dense"], f["cover"], f["cover_ctx"], f["rrf"], f["typed"],
            f["pairs"], f["base"], rank / max(1, n - 1)]


def rerank(question: str, candidates: list[Candidate], settings: Settings) -> list[Candidate]:
    """The candidates with ``prob`` and ``span`` set, most likely answer first."""
    if not candidates or settings.reranker == "off":
        return candidates
    reader = reader_for(settings)
    top = candidates[:settings.rerank_top]
    logits, spans = reader.run(question, [(c.text, c.title) for c in top])
    fusion = reader.card["fusion"]
    for rank, (c, logit, span) in enumerate(zip(top, logits, spans)):
        c.features["reader"] = float(logit)
        c.features["base"] = c.score
        x = features(c, rank, len(top))
        if settings.reranker == "reader":  # ablation: the reader alone
            c.prob = _sigmoid(float(logit))
        else:
            c.prob = _sigmoid(fusion["bias"] + sum(w * v for w, v in zip(fusion["weights"], x)))
        c.span = span[:2] if span else None
    return sorted(top, key=lambda c: -c.prob)


def abstains(question: str, ranked: list[Candidate], settings: Settings) -> bool:
    """No candidate likely enough; or a number/date is asked and no likely candidate has one."""
    if settings.reranker in ("reader", "fused"):  # ablation rows without abstention
        return not ranked
    card = reader_for(settings).card
    if not ranked or ranked[0].prob < card["threshold"] or confidence(ranked[0]) < MIN_RELEVANCE:
        return True
    qtype = answer_type(question)
    if card["typed_floor"] is not None and qtype in TYPED_ABSTAIN:
        likely = ranked[:1] + [c for c in ranked[1:] if c.prob >= card["typed_floor"]]
        return not any(c.features["typed"] for c in likely)
    return False


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))
