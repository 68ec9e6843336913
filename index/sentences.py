"""Split article text into sentences whose offsets are exact: ``text[s.start:s.end] == s.text``.

Offsets are computed here, once, while scanning; nothing downstream searches for text again.

Rules, in order:
- A line break ends a sentence, so headline-like lines without a final period stand alone.
  Exception: hard-wrapped text (many line breaks followed by a lowercase word) where a single
  line break is just a space; a blank line still ends the sentence and the paragraph.
- Inside a line, a sentence ends after ``. ! ? …`` (plus closing quotes/brackets) followed by
  whitespace and something that can start a sentence (capital, digit, opening quote...), unless
  the word before the period is an abbreviation (Mr., Feb., U.S.) or a single initial.
- Decimals (3.5) and inner periods (e.g. U.S.) never qualify because no space follows.
- A "sentence" longer than ``MAX_CHARS`` is cut at a space so one citation stays readable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from index.types import Sentence

MAX_CHARS = 1200

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "gov", "sen", "rep",
    "lt", "col", "capt", "sgt", "maj", "adm", "cpl", "pvt", "rev", "hon", "pres", "supt",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "etc", "vs", "v", "e.g", "i.e", "cf", "al", "approx", "no", "nos", "vol", "pp", "fig",
    "inc", "corp", "ltd", "co", "bros", "dept", "univ", "assn", "est", "ave", "blvd", "rd",
    "u.s", "u.k", "u.n", "e.u", "u.s.a", "a.m", "p.m", "ph.d", "d.c", "n.y", "l.a",
}
# Sentence-final punctuation, then closing quotes/brackets, then the whitespace gap.
_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]\u00bb]*(?=\s)")
_OPENER = re.compile(r"[\"'\u201c\u2018(\[\u00ab\u2014\-]*[^\W_a-z]", re.UNICODE)
_WORD_BEFORE = re.compile(r"([\w.]+)$", re.UNICODE)
_LINE = re.compile(r"[^\n]*\n?")


def split_sentences(text: str, article_id: str = "") -> list[Sentence]:
    """All sentences of ``text`` in order, with paragraph numbers and exact offsets."""
    out: list[Sentence] = []
    for para, (b_start, b_end) in enumerate(_blocks(text)):
        for start, end in _split_block(text, b_start, b_end):
            out.append(Sentence(article_id, len(out), start, end, text[start:end], para))
    return out


def _is_wrapped(text: str) -> bool:
    """Hard-wrapped prose: a good share of single line breaks continue in lowercase."""
    breaks = re.findall(r"[^\n]\n[ \t]*(\S)", text)
    if len(breaks) < 3:
        return False
    return sum(c.islower() for c in breaks) / len(breaks) >= 0.3


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans that no sentence crosses: lines, or blank-line paragraphs for wrapped text."""
    sep = re.compile(r"\n[ \t\r\f\v]*\n\s*" if _is_wrapped(text) else r"[\r\n\u2028\u2029]+")
    spans, pos = [], 0
    for m in sep.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    block = text[start:end]
    cuts, prev = [], 0
    for m in _END.finditer(block):
        nxt = re.match(r"\s+", block[m.end():])
        after = m.end() + (nxt.end() if nxt else 0)
        if after >= len(block) or not _OPENER.match(block, after):
            continue
        if block[m.start()] == "." and m.end() - m.start() == 1 + _trailing_closers(block, m):
            word = _WORD_BEFORE.search(block, 0, m.start())
            w = word.group(1).lower().rstrip(".") if word else ""
            if w in _ABBREV or (len(w) == 1 and w.isalpha()):
                continue
        cuts.append((prev, m.end()))
        prev = after
    cuts.append((prev, len(block)))
    spans = []
    for s, e in cuts:
        s, e = _strip(block, s, e)
        if s < e:
            spans.extend(_cap_length(block, s, e))
    return [(start + s, start + e) for s, e in spans]


def _trailing_closers(block: str, m: re.Match) -> int:
    s = m.group(0)
    return len(s) - len(s.rstrip("\"'\u201d\u2019)]\u00bb"))


def _strip(block: str, s: int, e: int) -> tuple[int, int]:
    while s < e and block[s].isspace():
        s += 1
    while e > s and block[e - 1].isspace():
        e -= 1
    return s, e


def _cap_length(block: str, s: int, e: int) -> list[tuple[int, int]]:
    spans = []
    while e - s > MAX_CHARS:
        cut = block.rfind(" ", s + MAX_CHARS // 2, s + MAX_CHARS)
        cut = cut if cut > s else s + MAX_CHARS
        spans.append(_strip(block, s, cut))
        s = _strip(block, cut, e)[0]
    spans.append((s, e))
    return [(a, b) for a, b in spans if a < b]


def sentence_key(text: str) -> str:
    """The same key for two copies of one sentence, whatever their quotes, case, accents or
    spacing (syndicated copies differ in such details): a hash of its folded words."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    words = _KEY_WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))
    return hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()


_KEY_WORD = re.compile(r"\w+", re.UNICODE)


# Page furniture that extraction keeps inside an article's text: links to other stories, photo
# credits, the attribution line of an embedded post, bylines. Such a line answers no question
# about the news, yet shares the story's words, so the retriever leaves it out.
_FURNITURE = re.compile(r"""
    ^(?:read\ more|related|see\ also|also\ read|more\ on\ this\ story|sign\ up|subscribe)\s*[:\-\u2013\u2014]
  | ^(?:photo(?:graph)?|picture|image|credit)s?\s*:\s*\S(?:\S*\s+\S+){0,6}$
  | ^[\u2014\u2013-]\s*[^()]{1,80}\(@\w{1,30}\)\s+\w+\s+\d{1,2},\s+\d{4}$
""", re.I | re.X)
_BYLINE = re.compile(r"^By [A-Z][\w'\u2019.-]+(?: [A-Z][\w'\u2019.-]+){1,3}(?:(?:,| and) [^.]{0,60})?$")


def is_furniture(text: str) -> bool:
    """A "Read more:" / "Related:" link, a photo credit, an embedded post's attribution line
    ("— City FC (@CityFC) March 3, 2025"), or a byline ("By Ann Lee, Courts Correspondent")."""
    t = text.strip()
    return bool(_FURNITURE.search(t) or _BYLINE.match(t))
