"""Sentences that say a detail is withheld: "police have not released the driver's name",
"the terms were not disclosed", "the company declined to say how much it paid".

Such a sentence is often the best match for a question about that very detail, and citing it as
if it answered misleads; it is the reason to abstain, and is cited as that reason. The same
sentence often answers *other* questions ("It did not say which manufacturer won, but two people
said the deal went to Airbus."), so only the clause that withholds counts, and only when the
question asks about what it withholds.
"""

from __future__ import annotations

import re

from qa.lexical import stems
from qa.spans import answer_type, type_spans

_VERB = (r"releas\w*|disclos\w*|reveal\w*|nam\w*|identif\w*|confirm\w*|specif\w*|announc\w*|"
         r"publish\w*|giv\w*|given|provid\w*|say|said|comment\w*|made public|put a figure")
_WITHHOLDS = re.compile(
    rf"\b(?:(?:has|have|had|was|were|is|are|did|does|do|would|will|could)(?: not|n[’']t)(?: yet)?(?: been)?"
    rf" (?:{_VERB})|(?:declin\w*|refus\w*) to (?:{_VERB})|undisclosed|unnamed|unidentified|withheld"
    rf"|(?:remains?|remained|is|was|are|were) (?:unknown|unclear|not known))\b", re.I)
# a clause ends at these; "but two people said..." starts a clause that may well answer
_CLAUSE_BREAK = re.compile(r"[,;:()—–]|\b(?:but|although|though|while|whereas|however)\b", re.I)
_QUESTION_WORDS = frozenset("what who whom whose which when where why how much many long old "
                            "did does do is are was were has have had the a an of in on to for".split())
# words by which a clause says *what kind* of detail it withholds, by the asked answer type
_KIND_WORDS = {
    "number": re.compile(r"\b(?:how (?:much|many)|value|price|cost|sum|amount|terms|fee|figure|"
                         r"number|toll|total|financial|salary|pay|age)\b", re.I),
    "person": re.compile(r"\b(?:who|whom|name|names|named|identit\w*|identif\w*)\b", re.I),
    "date": re.compile(r"\b(?:when|date|timetable|timing|timeline|time)\b", re.I),
    "duration": re.compile(r"\b(?:how long|duration|length|timetable)\b", re.I),
    "place": re.compile(r"\b(?:where|location|whereabouts|destination|address)\b", re.I),
}


def _asked_words(question: str) -> set[str]:
    """The question's content words (stemmed) but its names: sharing only "Trump" with a clause
    does not make it about the asked detail."""
    words = re.findall(r"[\w'’-]+", question)
    common = [w for n, w in enumerate(words) if n == 0 or not w[:1].isupper()]
    return {w for w in stems(" ".join(common)) if w not in _QUESTION_WORDS}


def withheld_clause(sentence: str) -> tuple[int, int] | None:
    """The (start, end) of the clause of ``sentence`` that says something is withheld."""
    m = _WITHHOLDS.search(sentence)
    if not m:
        return None
    start = max((b.end() for b in _CLAUSE_BREAK.finditer(sentence, 0, m.start())), default=0)
    nxt = _CLAUSE_BREAK.search(sentence, m.end())
    return start, nxt.start() if nxt else len(sentence)


def withholds(question: str, sentence: str, span: tuple[int, int] | None) -> bool:
    """``sentence`` says the detail ``question`` asks for is withheld: a clause withholds and
    is about the asked detail (shares a word with the question other than a name, or names
    the asked kind: "the value", "the driver's name"), the answer span found (if any) lies in
    it, and an asked-for number, date or name is nowhere else in the sentence."""
    clause = withheld_clause(sentence)
    if clause is None:
        return False
    a, b = clause
    qtype = answer_type(question)
    kind = _KIND_WORDS.get(qtype or "")
    if not (_asked_words(question) & set(stems(sentence[a:b]))
            or (kind is not None and kind.search(sentence[a:b]))):
        return False
    if span is not None and not (span[0] < b and a < span[1]):
        return False  # the answer the reader found is outside the withholding clause
    rest = sentence[:a] + " " + sentence[b:]
    return not (qtype and type_spans(rest, qtype, question))
