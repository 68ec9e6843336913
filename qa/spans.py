"""What kind of thing a question asks for, and where that thing is inside a sentence.

No reader model ships on PyPI, so this is rules: the question's wh-word picks an answer type
(a number for "how many", a date for "when", a name for "who"...), and the span is the
closest phrase of that type in the sentence that the question does not already contain.
"""

from __future__ import annotations

import re

_NUMWORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
            r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|"
            r"dozen|dozens|hundreds|thousands|millions|half|a few|several)")
_NUM = (r"(?:[$€£¥]\s?)?\d[\d,.]*(?:\s?(?:%|percent|per cent|million|billion|trillion|thousand|"
        r"hundred|km|miles?|kg|tons?|tonnes?|m|ft|mph))?|\b" + _NUMWORD + r"(?:[\s-]" + _NUMWORD + r")*\b")
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)")
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow)"
_DATE = (rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
         rf"|{_MONTH}\s+\d{{4}}|(?:early |late |mid-?)?{_MONTH}|\b{_DAY}\b|\b(?:1[0-9]|20)\d{{2}}s?\b"
         rf"|\b\d{{1,2}}(?:st|nd|rd|th)[\s-]centur(?:y|ies)\b|\b(?:last|next|this) (?:week|month|year)\b)")
_UNIT = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies))"
_DURATION = (rf"(?:(?:about|around|nearly|almost|more than|less than|over|some|roughly)\s+)?"
             rf"(?:an?|{_NUM}|several|a few)[\s-]+{_UNIT}(?:\s+and\s+(?:a\s+half|{_NUM}\s+{_UNIT}))?")
_CAP = r"(?:[A-Z][\w'’.-]*(?:\s+(?:of|de|the|al|van|von|bin|du|la|and)?\s*[A-Z][\w'’.-]*)*)"
_PLACE = rf"\b(?:in|at|to|from|near|into|across|of) ({_CAP})"

_PATTERNS = {
    "number": re.compile(_NUM, re.I),
    "duration": re.compile(_DURATION, re.I),
    "date": re.compile(_DATE),
    "person": re.compile(_CAP),
    "place": re.compile(rf"{_PLACE}|({_CAP})"),
}

# narrower kinds of number a question can ask for, with what a sentence holding one shows
_AMOUNT_UNIT = r"(?:dollars?|euros?|pounds? sterling|pounds|yen|yuan|francs?|rupees?|kronor|krona|crowns?|pence|cents?|rand|pesos?)"
_KINDS = [
    ("age", re.compile(r"\bhow old\b|\bwhat age\b|\bat what age\b", re.I),
     re.compile(r"\b\d{1,3}[\s-]years?[\s-]old\b|\baged? \d{1,3}\b|,\s*\d{1,3},|\(\d{1,3}\)|\bin (?:his|her|their) "
                r"(?:early |late |mid-?)?(?:twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|\d0s)\b", re.I)),
    ("measure", re.compile(r"\bhow (?:tall|high|far|heavy|deep|wide|fast)\b", re.I),
     re.compile(r"\d[\d,.]*\s*-?\s*(?:m|cm|mm|km|metres?|meters?|feet|foot|ft|inch(?:es)?|miles?|kg|kilo(?:gram)?s?|"
                r"grams?|tonnes?|tons?|pounds|lbs?|mph|km/h|knots?|kilomet(?:re|er)s?|centimet(?:re|er)s?|"
                r"hectares?|acres?|square|storeys?|stories|floors?)\b|\d+\s*(?:°|’|'|\")", re.I)),
    ("amount", re.compile(r"\bhow much\b.*\b(?:cost|costs|pay|paid|pays|worth|spen[dt]|raised?|price|fined?|charge|earn|"
                          r"sold|sell|invest|budget|fund|owe|award|compensation|salary|bonus|bail|damages|fee|loan|debt|"
                          r"revenue|profit|loss|value|valued|bid|offer|deal|money)\b", re.I),
     re.compile(rf"[$€£¥]\s?\d|\d[\d,.]*\s*(?:(?:million|billion|bn|trillion|thousand)\s*)?{_AMOUNT_UNIT}\b|"
                r"\b(?:USD|EUR|GBP|CHF|JPY)\s?\d|\d\s?(?:USD|EUR|GBP|CHF|JPY)\b", re.I)),
]


def number_kind(question: str) -> re.Pattern | None:
    """For a question asking an age, a measurement or a sum of money: what a sentence holding
    the answer shows (a plain number is not enough there)."""
    return next((shows for _, asks, shows in _KINDS if asks.search(question)), None)


_TYPES = [
    ("duration", re.compile(r"\bhow long\b|\bfor how (?:many|much) (?:time|years|days|hours)", re.I)),
    ("date", re.compile(r"^\s*when\b|\b(?:what|which|in what)\s+(?:year|date|day|month|time|century|decade|period)\b|\bwhen (?:did|was|were|is|will|do|does)\b", re.I)),
    ("number", re.compile(r"\bhow (?:many|much|old|far|big|large|tall|often)\b|\b(?:what|which) (?:number|percentage|percent|amount|proportion|fraction)\b", re.I)),
    ("person", re.compile(r"\b(?:who|whom|whose)\b|\b(?:what|which) (?:person|man|woman|king|president|leader|company|organization|group)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(?:what|which|in what) (?:country|city|state|region|place|town|continent|location|nation|island|county)\b", re.I)),
]


def answer_type(question: str) -> str | None:
    for name, rx in _TYPES:
        if rx.search(question):
            return name
    return None


def type_spans(sentence: str, qtype: str | None, question: str) -> list[tuple[int, int]]:
    """Spans of the wanted type in ``sentence`` whose words are not all in the question."""
    if qtype is None:
        return []
    qwords = {w.lower() for w in re.findall(r"\w+", question)}
    out = []
    for m in _PATTERNS[qtype].finditer(sentence):
        # group 1 of "place" is a name after a preposition ("in Saudi Arabia"): the likeliest
        # answer to "where", so it is listed before bare names
        g = next((i for i in range(1, (m.re.groups or 0) + 1) if m.group(i)), 0)
        s, e = m.span(g)
        while e > s and sentence[e - 1] in ".,;:'’":
            e -= 1
        words = [w.lower() for w in re.findall(r"\w+", sentence[s:e])]
        if e > s and words and not all(w in qwords for w in words):
            if qtype in ("person", "place") and s == 0 and len(words) == 1 and words[0] in _SENTENCE_STARTERS:
                continue
            out.append((s, e, g))
    return [(s, e) for s, e, _ in sorted(out, key=lambda x: x[2] != 1 and qtype == "place")]


_SENTENCE_STARTERS = {"the", "a", "an", "in", "on", "at", "but", "however", "after", "before", "this",
                      "that", "it", "he", "she", "they", "we", "during", "despite", "later", "when",
                      "while", "although", "as", "if", "each", "some", "many", "most", "subsequently"}


def best_span(sentence: str, question: str, qtype: str | None, qterms: set[str]) -> tuple[int, int] | None:
    """The typed span nearest to where the question's own words appear in the sentence."""
    spans = type_spans(sentence, qtype, question)
    if not spans:
        return None
    anchors = [m.start() for m in re.finditer(r"\w+", sentence) if m.group(0).lower() in qterms]
    if not anchors or qtype == "place" and len(spans) > 1:
        return spans[0]
    return min(spans, key=lambda sp: min(abs(sp[0] - a) for a in anchors))
