"""The offset invariant under every kind of whitespace and Unicode, property-based.

Issue 6, "Bad input / text". For any text, ``split_sentences`` and ``make_chunks`` must give
spans where ``text[start:end] == span text``, in order, without overlap, without losing any
visible character, and without leading or trailing whitespace. Then a real ingest of hostile
Unicode must store and return exactly those offsets.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from index.chunks import chunk_metadata, embed_text, make_chunks
from index.sentences import MAX_CHARS, split_sentences
from qa import api
from index.types import Article

# Characters that break naive splitters: every Unicode whitespace and line separator, zero-width
# and bidi controls, combining marks, emoji with modifiers and joiners, CJK and RTL punctuation.
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000"
TRICKY = ("\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202e\u2066\u2069"
          "\u0301\u0308\u0327\u20dd\u0e31"  # combining marks
          "😀👍🏽👩‍👩‍👧🇺🇦\U0001f3f4\U000e0067"  # emoji, modifiers, ZWJ sequences, flags, tags
          "中文句子。！？「」日本語、한국어"  # CJK with full-width punctuation
          "עברית. العربية؟ ،؛ فارسی۔"  # right-to-left scripts and their punctuation
          "\u0928\u092e\u0938\u094d\u0924\u0947\u0964"  # Devanagari with danda
          "\ufffd\U0010ffff\x00\x7f")
PROSE = ".!?…\"'“”‘’()[]«»—-,;: 0123456789 Mr. U.S. e.g. Ab Cd ef gh"
ALPHABET = st.sampled_from(sorted(set(SPACES + TRICKY + PROSE)))
texts = st.one_of(
    st.text(),  # anything at all, surrogates excluded by hypothesis
    st.text(alphabet=ALPHABET, max_size=400),
    st.lists(st.sampled_from(["Word", "word", "Mr.", "3.5", ". ", "! ", "? ", "\n", "\n\n", " ",
                              "\u2028", "“Quote.” ", "中文。", "עברית. ", "😀 ", "e\u0301", "\t"]),
             max_size=120).map("".join),
)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_spans(text: str, spans: list[tuple[int, int, str]]) -> None:
    prev = 0
    for start, end, piece in spans:
        assert 0 <= prev <= start < end <= len(text)
        assert text[start:end] == piece
        assert not piece[0].isspace() and not piece[-1].isspace()
        assert not text[prev:start].strip(), f"visible text lost: {text[prev:start]!r}"
        prev = end
    assert not text[prev:].strip(), f"visible text lost at the end: {text[prev:]!r}"


@PROPS
@given(texts)
def test_sentences_keep_exact_offsets(text):
    sents = split_sentences(text, "a1")
    check_spans(text, [(s.start, s.end, s.text) for s in sents])
    assert [s.index for s in sents] == list(range(len(sents)))
    assert all(len(s.text) <= MAX_CHARS and s.article_id == "a1" for s in sents)
    paras = [s.paragraph for s in sents]
    assert paras == sorted(paras)
    assert bool(sents) == bool(text.strip())


@PROPS
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=60), st.integers(MAX_CHARS - 5, 4 * MAX_CHARS))
def test_long_runs_are_cut_without_losing_text(seed, n):
    text = (seed * (n // len(seed) + 1))[:n]  # long, possibly without any space at all
    sents = split_sentences(text)
    check_spans(text, [(s.start, s.end, s.text) for s in sents])
    assert all(len(s.text) <= MAX_CHARS for s in sents)


@PROPS
@given(texts, st.text(max_size=40))
def test_chunks_keep_exact_offsets(text, title):
    sents = tuple(split_sentences(text, "a1"))
    art = Article("a1", title, text, sentences=sents)
    chunks = make_chunks(art)
    check_spans(text, [(c.start, c.end, c.text) for c in chunks])
    covered = [i for c in chunks for i in c.sentence_ids]
    assert covered == list(range(len(sents)))  # every sentence in exactly one chunk, in order
    for c in chunks:
        assert embed_text(art, c).endswith(c.text)
        meta = chunk_metadata(c, art)
        assert all(isinstance(v, (str, int)) for v in meta.values())
        assert (meta["start"], meta["end"]) == (c.start, c.end)


def test_known_hard_cases():
    cases = {
        "crlf": "First line.\r\nSecond line.\r\n\r\nThird.",
        "nbsp": "Mr.\u00a0Smith left.\u00a0He returned.",
        "cjk": "今天下雨。明天晴天！后天呢？",
        "rtl": "שלום עולם. זה משפט שני.",
        "emoji": "Prices rose 😀. Shares fell 👍🏽. Family 👩‍👩‍👧 stays.",
        "combining": "Cafe\u0301 opened. Nai\u0308ve plans failed.",
        "separators": "One\u2028Two\u2029Three\x85Four\x0bFive\x0cSix",
        "bom-and-zw": "\ufeffZero\u200bwidth. Joined\u200dtext.",
    }
    for name, text in cases.items():
        sents = split_sentences(text)
        assert sents, name
        check_spans(text, [(s.start, s.end, s.text) for s in sents])
    assert [s.text for s in split_sentences(cases["rtl"])] == ["שלום עולם.", "זה משפט שני."]
    assert len(split_sentences(cases["emoji"])) == 3


@pytest.fixture(scope="module")
def unicode_settings(tmp_path_factory):
    from index.settings import Settings
    s = Settings(data_dir=tmp_path_factory.mktemp("unicode") / "data", seed_dir=None)
    return s


def test_hostile_unicode_survives_a_real_ingest(unicode_settings, tmp_path):
    text = ("\ufeffÉlections à Zürich 🇨🇭: les résultats.\r\n\r\n"
            "Le taux de participation était de 47\u202f% selon l\u2019office.\u2028"
            "政府は声明を発表した。\u3000野党は反発した！\n"
            "المرشح فاز بنسبة ٥٥٪ من الأصوات. \u200fقال المتحدث: «نحن سعداء».\n"
            "Zo\u0308e, 👩\u200d🔬, said \u201cit\u2019s done\u201d.\t\x0b\n")
    p = tmp_path / "hostile.txt"
    p.write_bytes(text.encode("utf-8"))
    [art] = api.ingest(str(p), settings=unicode_settings)
    stored = api.get_article(art.id, settings=unicode_settings)
    assert stored.text == text.lstrip("\ufeff").replace("\r\n", "\n")  # BOM and CRLF are normalised
    check_spans(stored.text, [(s.start, s.end, s.text) for s in stored.sentences])
    for q in ["Wie hoch war die Wahlbeteiligung?", "野党は？", "من فاز؟", "participation Zürich %"]:
        ans = api.ask(q, settings=unicode_settings)
        for c in ans.citations:
            assert stored.text[c.start:c.end] == c.sentence
            if c.answer_start is not None:
                assert c.start <= c.answer_start < c.answer_end <= c.end


def test_lone_surrogates_in_json_are_replaced(unicode_settings, tmp_path):
    p = tmp_path / "batch.json"
    p.write_text('[{"title": "Bad \\ud800 escape", "text": "Half a pair \\udc00 here. Then more."}]')
    [art] = api.ingest(str(p), settings=unicode_settings)
    assert art.text == "Half a pair \ufffd here. Then more." and art.title == "Bad \ufffd escape"
    check_spans(art.text, [(s.start, s.end, s.text) for s in art.sentences])
