"""The default answerer: no LLM, the answer is made of verbatim cited sentences.

With the reader on (``QA_RERANKER=on``, the default) the candidates arrive ranked by the
probability that they answer (``qa.rerank``): the first citation is the likeliest sentence,
further ones join when nearly as likely, the underlined span comes from the reader's span head,
and the answer abstains when ``qa.rerank.abstains`` says no candidate is likely enough.

With the reader off, the hand-weighted retriever score decides: the best sentence is the first
citation (or its neighbour, when only that one holds the asked-for number, date or name);
further ones join only when they score nearly as well; when even the best sentence holds little
of the question, the answer abstains rather than cite something unrelated.
"""

from __future__ import annotations

from index.catalog import query_terms
from index.settings import Settings
from index.types import Answer, Citation
from qa import rerank
from qa.retrieve import Candidate, confidence
from qa.spans import answer_type, best_span
from qa.withheld import withholds

NOT_FOUND = "The articles do not say."
ADJACENT_RATIO = 0.75  # see _typed_first
NEAR_TIE = 0.80  # a further sentence is cited when its score is at least this share of the best


def _typed_first(candidates: list[Candidate], qtype: str | None) -> list[Candidate]:
    """Put first the neighbour that holds the asked-for thing when the best sentence lacks it.

    "How many prisoners were exchanged?" matches "...made an exchange of prisoners on
    Wednesday." best, but the number is in the next sentence: "Each side released 175
    prisoners of war." Only an adjacent sentence of nearly the same score qualifies.
    """
    top = candidates[0]
    if qtype is None or top.features.get("typed"):
        return candidates
    for c in candidates[1:6]:
        if (c.features.get("typed") and c.score >= ADJACENT_RATIO * top.score
                and c.article_id == top.article_id and abs(c.index - top.index) == 1):
            return [c] + [x for x in candidates if x is not c]
    return candidates


def _chosen_by_score(question: str, candidates: list[Candidate], s: Settings) -> list[Candidate]:
    if not candidates or confidence(candidates[0]) < s.min_confidence:
        return []
    candidates = _typed_first(candidates, answer_type(question))
    best = max(c.score for c in candidates)  # the promoted first sentence may score lower
    return candidates[:1] + [c for c in candidates[1:s.max_citations]
                             if c.score >= NEAR_TIE * best and confidence(c) >= s.min_confidence]


def _chosen_by_reader(question: str, ranked: list[Candidate], s: Settings) -> list[Candidate]:
    if rerank.abstains(question, ranked, s):
        return []
    card = rerank.reader_for(s).card
    return [ranked[i] for i in rerank.cited([c.prob for c in ranked], card, s.max_citations)]


def _span(c: Candidate, question: str, qtype: str | None, qterms: set[str]):
    """The reader's span; when the asked-for type (a number, date, name) overlaps it, that
    phrase, which is tighter ("Saudi Arabia", not "in Saudi Arabia")."""
    rule = best_span(c.text, question, qtype, qterms)
    if c.span is None or (rule and rule[0] < c.span[1] and c.span[0] < rule[1]):
        return rule
    return c.span


def _withheld(question: str, candidates: list[Candidate], answering: bool) -> Candidate | None:
    """The sentence saying that the asked detail is withheld: the first candidate, unless the
    answer the reader found in it lies outside what it withholds; or, when the answer abstains
    anyway, one of the first three (the reader's span in an unlikely sentence means little)."""
    return next((c for c in candidates[:1 if answering else 3]
                 if withholds(question, c.text, c.span if answering else None)), None)


def answer(question: str, candidates: list[Candidate], settings: Settings) -> Answer:
    """The extractive answer for ``candidates`` (from ``qa.retrieve``, reranked or not)."""
    reranked = bool(candidates) and candidates[0].prob is not None
    chosen = (_chosen_by_reader if reranked else _chosen_by_score)(question, candidates, settings)
    reason = _withheld(question, candidates, bool(chosen))
    if reason is not None:
        cite = _citation(reason, None)
        return Answer(question, f"{NOT_FOUND[:-1]}: {cite.sentence} [1]", (cite,), abstained=True)
    if not chosen:
        return Answer(question, NOT_FOUND, (), abstained=True)
    cites = citations(question, chosen)
    text = " ".join(f"{c.sentence} [{n}]" for n, c in enumerate(cites, 1))
    return Answer(question, text, tuple(cites))


def citations(question: str, chosen: list[Candidate]) -> list[Citation]:
    """The chosen candidates as citations, each with its answering span when one is found."""
    qtype = answer_type(question)
    qterms = set(query_terms(question))
    return [_citation(c, _span(c, question, qtype, qterms)) for c in chosen]


def _citation(c: Candidate, span: tuple[int, int] | None) -> Citation:
    return Citation(c.article_id, c.title, c.text, c.start, c.end,
                    round(c.prob if c.prob is not None else c.score, 4), c.index, c.paragraph,
                    c.start + span[0] if span else None, c.start + span[1] if span else None)
