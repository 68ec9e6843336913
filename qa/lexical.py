"""Word-level matching between a question and a sentence: stems, coverage, proximity.

Porter stems (from nltk, which llama-index already installs; the stemmer needs no data files)
so "magnetic"/"magnetism" and "exchanged"/"exchange" meet; accents are folded so "fiancee"
meets "fiancée"; long words that still miss are matched fuzzily, because questions are typed
by people ("charecterized", "canonball").
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

from nltk.stem.porter import PorterStemmer

_porter = PorterStemmer()
_WORD = re.compile(r"\w+", re.UNICODE)
FUZZY_MIN_LEN = 6
FUZZY_CREDIT = 0.7  # a fuzzy match counts for less than an exact one


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    w = unicodedata.normalize("NFKD", word.lower())
    w = "".join(c for c in w if not unicodedata.combining(c))
    return _porter.stem(w) if w.isascii() and w.isalpha() else w


def stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text)]


def fuzzy_matches(terms, vocab: set[str]) -> dict[str, set[str]]:
    """For each long term, the words of ``vocab`` close enough to count as a misspelling of it.

    Computed once per question over all candidate words, so scoring a sentence is set lookups.
    """
    by_prefix: dict[str, list[str]] = {}
    for w in vocab:
        if len(w) >= FUZZY_MIN_LEN - 1:
            by_prefix.setdefault(w[:2], []).append(w)
    return {t: {w for w in by_prefix.get(t[:2], ()) if w != t and _close(t, w)}
            for t in terms if len(t) >= FUZZY_MIN_LEN}


def coverage(weights: dict[str, float], have: set[str], fuzzy: dict[str, set[str]]) -> float:
    """Share of the question's term weight found among ``have`` (exact, else fuzzy)."""
    total = sum(weights.values()) or 1.0
    got = 0.0
    for t, w in weights.items():
        if t in have:
            got += w
        elif not fuzzy.get(t, set()).isdisjoint(have):
            got += FUZZY_CREDIT * w
    return got / total


def _close(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= 2 and SequenceMatcher(None, a, b).ratio() >= 0.8


def pairs_near(pairs: set[tuple[str, str]], seq: list[str], window: int = 4) -> float:
    """How closely consecutive question words stay together in the sentence: each pair scores
    1 when adjacent, 1/d at distance d (up to ``window``), averaged over the pairs."""
    if not pairs:
        return 0.0
    pos: dict[str, list[int]] = {}
    for i, t in enumerate(seq):
        pos.setdefault(t, []).append(i)
    total = 0.0
    for a, b in pairs:
        d = min((abs(i - j) for i in pos.get(a, ()) for j in pos.get(b, ())), default=window + 1)
        total += 1 / d if 0 < d <= window else 0.0
    return total / len(pairs)
