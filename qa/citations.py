"""Citation markers in model text, and the check that each cited sentence supports its claim.

The model is told to write ``[n]`` but writes what it likes: ``[1, 2]``, ``[1][2]``, ``【1】``,
``(1)``, ``Source 1``. Markers are parsed here, markers pointing at no sentence are dropped, the
text is cut into claims (sentences or lines of the answer), and a claim is kept only when its
cited sentences contain its numbers and names and most of its content words. The check is
lexical on purpose: deterministic, explainable, and strict about the facts (numbers, names) a
paraphrase must not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SUPPORT = 0.5  # share of a claim's content words its cited sentences must hold
CONTRIBUTE = 0.2  # share a single cited sentence must hold (or one number/name) to stay cited

_NUMS = r"\d{1,4}(?:\s*(?:,|;|&|and|-|–|to)\s*\d{1,4})*"
_PREFIX = r"(?:(?:sources?|sentences?|refs?|s)\s*#?\s*)?"
MARKER = re.compile(
    rf"\[\s*{_PREFIX}(?P<sq>{_NUMS})\s*\]"
    rf"|【\s*{_PREFIX}(?P<cjk>{_NUMS})\s*】"
    rf"|\(\s*{_PREFIX}(?P<par>{_NUMS})\s*\)"
    rf"|\b(?:[Ss]ources?|[Ss]entences?)\s+(?P<bare>{_NUMS})\b", re.I)
_BETWEEN_MARKERS = re.compile(r"^[\s,;]*(?:and)?[\s,;]*$")
_ABBREV = re.compile(r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|No|"
                     r"vs|etc|Inc|Co|Corp|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\.)$")
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
STOPWORDS = set("""a an the and or but if of to in on at by for with from as into about over after
before during than then that this these those there their they them it its is are was were be been
being has have had do does did not no yes so such which who whom whose what when where why how
i we you he she his her him our your my me us also very more most some any each all both other
said says say according article articles sentence sentences source sources answer question
can could would should will may might must just only here""".split())
_STARTERS = set("""however meanwhile later today yesterday still now while although despite overall
instead thus therefore finally first second third yes sure based""".split())


def _numbers_in(nums: str) -> list[int]:
    out = []
    for a, sep, b in re.findall(r"(\d+)(?:\s*(-|–|to)\s*(?=\d))?(\d+)?", nums):
        out.append(int(a))
        if b:
            lo, hi = int(a), int(b)
            out.extend(range(lo + 1, hi + 1) if sep and 0 < hi - lo <= 10 else [hi])
    return out


def tokenize(text: str, n_sources: int) -> tuple[list, int]:
    """``text`` as a list of str (prose) and tuples of source numbers (markers, 1-based).

    Returns (tokens, markers_dropped). A bracketed number outside 1..n_sources is a hallucinated
    citation and is removed; a parenthesised one is left as prose (it is likely a year or count).
    """
    tokens: list = []
    dropped = 0
    pos = 0
    for m in MARKER.finditer(text):
        nums = _numbers_in(next(g for g in m.groups() if g is not None))
        valid = tuple(dict.fromkeys(n for n in nums if 1 <= n <= n_sources))
        if m.group("par") is not None and len(valid) < len(nums):
            continue
        dropped += len(nums) - len(valid)
        if m.start() > pos:
            tokens.append(text[pos:m.start()])
        if tokens and isinstance(tokens[-1], str) and len(tokens) >= 2 and \
                isinstance(tokens[-2], tuple) and _BETWEEN_MARKERS.match(tokens[-1]):
            tokens.pop()  # "[1], [2]": the comma belongs to the markers, not the prose
        if tokens and isinstance(tokens[-1], tuple):
            tokens[-1] = tuple(dict.fromkeys(tokens[-1] + valid))
        else:
            tokens.append(valid)
        pos = m.end()
    if pos < len(text):
        tokens.append(text[pos:])
    return tokens, dropped


_MARK = "\x00"  # stands for a marker token while sentence ends are searched for
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?:[ \t]*\x00)*(?=[ \t]+([^\s\x00]))")


def segment(tokens: list) -> list[list]:
    """Cut tokens into claims: before line breaks, and after a sentence end (plus the markers
    that follow it) when a new sentence starts. A boundary needs the next sentence's first
    character, so every claim but the last is final even while text is still streaming in."""
    marks = [t for t in tokens if isinstance(t, tuple)]
    text = "".join(_MARK if isinstance(t, tuple) else t.replace(_MARK, "") for t in tokens)
    cuts = {m.start() for m in re.finditer(r"\n+", text) if m.start() > 0}
    for m in _SENTENCE_END.finditer(text):
        ends_with_marker = m.group(0).endswith(_MARK)
        before = text[:m.start() + 1].replace(_MARK, "").rstrip()
        if m.group(1).islower() and not ends_with_marker:
            continue  # "e.g. the..." or a lower-case continuation: same sentence
        if not ends_with_marker and _ABBREV.search(before):
            continue  # "the U.S. Senate": not a sentence end
        cuts.add(m.end())
    claims, it = [], iter(marks)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(text)), len(text)]
    for a, b in zip(bounds, bounds[1:]):
        parts: list = []
        for i, piece in enumerate(text[a:b].split(_MARK)):
            if i:
                parts.append(next(it))
            if piece:
                parts.append(piece)
        claims.append(parts)
    return claims or [[]]


def _norm_word(w: str) -> str:
    w = NUMBER_WORDS.get(w.lower(), w.lower()).replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ations", "ation", "ings", "ing", "ians", "ian", "ed", "ies", "es", "s"):
        if len(w) - len(suf) >= 4 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def content_words(text: str) -> set[str]:
    return {_norm_word(w) for w in re.findall(r"[\w'’]+", text)
            if w.lower() not in STOPWORDS and not w.isdigit() or w.isdigit()} - {""}


def numbers(text: str, *, source: bool = False) -> set[str]:
    """Numbers as digit strings. "one" counts only in sources: in a claim it is mostly a
    pronoun ("one of the..."), but "one hour" in a source supports "1 hour" in a claim."""
    found = {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}
    found |= {NUMBER_WORDS[w.lower()] for w in re.findall(r"[A-Za-z]+", text)
              if w.lower() in NUMBER_WORDS and (source or w.lower() not in ("one", "zero"))}
    return found


def names(text: str) -> set[str]:
    """Capitalised words that are not common words: a claim's first word counts too, since
    "Biden said..." is exactly the claim that must not cite a sentence about Trump."""
    return {_norm_word(w) for w in re.findall(r"[\w'’-]+", text)
            if w[:1].isupper() and w.lower() not in STOPWORDS and w.lower() not in NUMBER_WORDS
            and w.lower() not in _STARTERS}


@dataclass
class Check:
    supported: bool
    kept: list[int] = field(default_factory=list)  # indices into the cited sentences
    reason: str = ""


def check(claim: str, cited: list[str]) -> Check:
    """Which of ``cited`` support ``claim``; the claim stands only if together they do."""
    words = content_words(claim)
    if not words or not cited:
        return Check(False, [], "no content" if cited else "no citation")
    nums, nams = numbers(claim), names(claim)
    kept = []
    for i, s in enumerate(cited):
        sw = content_words(s)
        if len(words & sw) >= CONTRIBUTE * len(words) or nums & numbers(s, source=True) or nams & sw:
            kept.append(i)
    union = " ".join(cited[i] for i in kept)
    uw = content_words(union)
    if missing := nums - numbers(union, source=True):
        return Check(False, kept, f"number {sorted(missing)[0]} not in the cited sentences")
    if missing := {n for n in nams if n not in uw}:
        return Check(False, kept, f"name {sorted(missing)[0]!r} not in the cited sentences")
    if len(words & uw) < SUPPORT * len(words):
        return Check(False, kept, "the cited sentences do not say this")
    return Check(True, kept)


def _stable_end(text: str) -> int:
    """Where streamed text stops being certain: an unclosed bracket or a trailing "Source 1"
    may still become (or grow into) a marker, so the claim before it must wait."""
    cut = len(text)
    i = max(text.rfind("["), text.rfind("【"), text.rfind("("))
    if i >= 0 and len(text) - i <= 40 and not re.search(r"[\]】)]", text[i:]):
        cut = i
    m = re.search(r"\b([A-Za-z]+)(\s+[\d,;&\s]*(?:and\s*)?)?$", text[:cut])
    if m and any(full.startswith(m.group(1).lower()) for full in ("sources", "sentences")):
        cut = m.start()
    return cut


class ClaimStream:
    """Turns model text, fed piece by piece, into answer text holding only verified claims.

    A claim is checked as soon as the next one starts, then emitted with its markers renumbered
    in order of first appearance; unsupported claims are left out. So text reaches ``on_text``
    a sentence at a time, and never with a citation the check did not pass.
    """

    def __init__(self, sources: list[str], on_text=None):
        self.sources, self.on_text = sources, on_text
        self.buffer, self.done = "", 0
        self.order: list[int] = []  # source numbers (1-based) in order of first citation
        self.pieces: list[str] = []
        self.removed: list[str] = []  # why each left-out claim was left out
        self.markers_dropped = 0  # citations of sentences that do not exist
        self.citations_dropped = 0  # citations of real sentences that do not support the claim
        self._sep = ""

    def feed(self, text: str) -> None:
        self.buffer += text
        self._advance(final=False)

    def finish(self) -> str:
        self._advance(final=True)
        return "".join(self.pieces)

    def _advance(self, final: bool) -> None:
        text = self.buffer if final else self.buffer[:_stable_end(self.buffer)]
        tokens, dropped = tokenize(text, len(self.sources))
        claims = segment(tokens)
        ready = claims if final else claims[:-1]
        for claim in ready[self.done:]:
            self._take(claim)
        self.done = max(self.done, len(ready))
        if final:
            self.markers_dropped = dropped

    def _take(self, claim: list) -> None:
        prose = "".join(p for p in claim if isinstance(p, str))
        body = prose.strip()
        self._sep += prose[:len(prose) - len(prose.lstrip())]
        if not body:
            return
        refs = list(dict.fromkeys(r for p in claim if isinstance(p, tuple) for r in p))
        if not refs:
            self.removed.append("no citation")
            return
        result = check(body, [self.sources[r - 1] for r in refs])
        kept = {refs[i] for i in result.kept} if result.supported else set()
        self.citations_dropped += len(refs) - len(kept)
        if not result.supported:
            self.removed.append(result.reason)
            return
        out = ""
        for p in claim:
            if isinstance(p, str):
                out += p
                continue
            nums = [self._number(r) for r in p if r in kept]
            if nums:
                out = out.rstrip() + " " + "".join(f"[{n}]" for n in nums)
        out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out).strip()
        sep = "" if not self.pieces else "\n\n" if "\n\n" in self._sep else "\n" if "\n" in self._sep else " "
        self._sep = ""
        self.pieces.append(sep + out)
        if self.on_text:
            self.on_text(sep + out)

    def _number(self, ref: int) -> int:
        if ref not in self.order:
            self.order.append(ref)
        return self.order.index(ref) + 1
