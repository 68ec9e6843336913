"""Reranking the retriever's candidates with the reader, and deciding when to abstain.

Each of the top candidates gets the reader's answer logit and span; a logistic model (fitted
on the calibration articles of the news set and on SQuAD articles, see train/fit.py) combines
the logit with the retriever's features into ``prob``: the probability that the sentence answers the question.
The answer abstains when a second logistic model, reading the whole candidate list (how
strongly the reader backs its best sentence, and against the others), finds the question
unlikely to be answered by any of them; or when the question asks for a number or a date and no
likely candidate holds one. Weights and thresholds come from the model card (``reader.json``)
next to the model, so a retrained model brings its own.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from index.settings import Settings
from qa.reader import MODEL_DIR, Reader
from qa.retrieve import Candidate, confidence
from qa.spans import answer_type, number_kind

# the features the fusion model reads, in order; all but "reader" come from qa.retrieve
FEATURES = ("reader", "dense", "cover", "cover_ctx", "rrf", "typed", "pairs", "base", "rank")
# what the abstention model reads about a question's reranked candidates (``question_features``)
QUESTION_FEATURES = ("max_reader", "lse_reader", "prob")
TYPED_ABSTAIN = ("number", "date", "duration")  # types a sentence visibly holds or lacks
# a first sentence holding this little of the question's words and meaning is not an answer,
# whatever the reader says (on the calibration articles: 0.1% of answerable questions)
MIN_RELEVANCE = 0.25
# ...and a first sentence holding (nearly) all of them is not overruled by the abstention model
# (on the calibration articles the model then abstains on 16.0% of near-miss questions, not 16.6%)
SURE_RELEVANCE = 0.95
# see keeps_context; chosen on follow-up pairs of the calibration articles (train.followups)
CONTEXT_RATIO = 0.5


@lru_cache(maxsize=4)
def _reader(folder: str) -> Reader:
    d = Path(folder) if folder else MODEL_DIR
    return Reader(d / "reader-int8.onnx", d / "reader.json")


def reader_for(settings: Settings) -> Reader:
    return _reader(settings.reader_model)


def features(c: Candidate) -> list[float]:
    """The fusion model's input, in ``FEATURES`` order (the one place that order is used)."""
    return [c.features[k] for k in FEATURES]


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
        c.features["rank"] = rank / max(1, len(top) - 1)
        x = features(c)
        if settings.reranker == "reader":  # ablation: the reader alone
            c.prob = _sigmoid(float(logit))
        else:
            c.prob = _sigmoid(fusion["bias"] + sum(w * v for w, v in zip(fusion["weights"], x)))
        c.span = span[:2] if span else None
    return sorted(top, key=lambda c: -c.prob)


def question_features(ranked: list[Candidate]) -> list[float]:
    """The abstention model's input, in ``QUESTION_FEATURES`` order: the reader's best logit,
    the log-sum-exp of its logits against the "no answer" logit 0 it was trained with, and the
    first candidate's fused probability. (The top candidate's retrieval features, given to it
    too, added nothing on the news dev articles, ROC AUC 0.855 against 0.850, and fitted
    together with SQuAD's questions they made it worse, 0.73.)"""
    logits = [c.features["reader"] for c in ranked]
    lse = math.log1p(sum(math.exp(min(30.0, x)) for x in logits))
    return [max(logits), lse, ranked[0].prob]


def answerable(ranked: list[Candidate], card: dict) -> float:
    """P(some candidate answers the question), by the card's abstention model."""
    m = card["abstention"]
    return _sigmoid(m["bias"] + sum(w * v for w, v in zip(m["weights"], question_features(ranked))))


def abstains(question: str, ranked: list[Candidate], settings: Settings) -> bool:
    """Unlikely to be answered by any candidate; or a number/date is asked and no likely
    candidate has one."""
    if settings.reranker in ("reader", "fused"):  # ablation rows without abstention
        return not ranked
    if not ranked:
        return True
    card = reader_for(settings).card
    return card_abstains(question, card, confidence(ranked[0]), answerable(ranked, card),
                         [(c.prob, c.text, c.features["typed"]) for c in ranked])


def keeps_context(question: str, with_context: list[Candidate], alone: list[Candidate],
                  previous_article: str | None, settings: Settings) -> bool:
    """Read a short question with the previous one (``with_context``) or alone? With it when,
    so read, a sentence of the previous question's article is at least ``CONTEXT_RATIO`` as
    likely to answer as the best sentence found for the question alone ("and who finished
    second?" is answered there; "how long was the call?" after an unrelated question is not),
    unless only the question alone is answered."""
    if not alone:
        return True
    if _answers(question, alone, settings) and not _answers(question, with_context, settings):
        return False
    likely = [_likelihood(c) for c in with_context if c.article_id == previous_article]
    return bool(likely) and max(likely) >= CONTEXT_RATIO * _likelihood(alone[0])


def _answers(question: str, ranked: list[Candidate], settings: Settings) -> bool:
    if not ranked:
        return False
    if ranked[0].prob is None:  # the reader is off
        return confidence(ranked[0]) >= settings.min_confidence
    return not abstains(question, ranked, settings)


def _likelihood(c: Candidate) -> float:
    return c.prob if c.prob is not None else c.score


def card_abstains(question: str, card: dict, relevance: float, p_answerable: float,
                  ranked: list[tuple[float, str, float]]) -> bool:
    """The card's abstention rules on plain values (``ranked``: (prob, text, typed feature),
    most likely first), shared by run time and ``train.fit``."""
    if relevance < MIN_RELEVANCE or (p_answerable < card["threshold"] and relevance < SURE_RELEVANCE):
        return True
    floor = card["typed_floor"]  # None: the typed rule is off
    if floor is None:
        return False
    likely = ranked[:1] + [r for r in ranked[1:] if r[0] >= floor]
    return lacks_asked_type(question, [(text, typed) for _, text, typed in likely])


def cited(probs: list[float], card: dict, most: int) -> list[int]:
    """Which of the candidates (their probabilities, most likely first) an answer cites: the
    first, and up to ``most`` in all that are likely enough next to it."""
    floor = max(card["cite_floor"], card["cite_ratio"] * probs[0])
    return [0] + [i for i in range(1, min(most, len(probs))) if probs[i] >= floor]


def lacks_asked_type(question: str, likely: list[tuple[str, float]]) -> bool:
    """A number, date or duration is asked and none of the likely sentences (text, typed
    feature) holds one; for an age, a measurement or a sum of money, one of that kind."""
    if answer_type(question) not in TYPED_ABSTAIN:
        return False
    kind = number_kind(question)
    if kind is not None:
        return not any(kind.search(text) for text, _ in likely)
    return not any(typed for _, typed in likely)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))
