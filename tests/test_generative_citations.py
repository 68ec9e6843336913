"""Marker parsing, claim cutting and the support check: the code that decides what is shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from qa.citations import ClaimStream, check, segment, tokenize

SOURCES = [
    "Each side released 175 prisoners of war.",
    "Trump said Wednesday's call with Zelensky lasted about an hour.",
    "Putin rejected a full 30-day ceasefire supported by the United States and Ukraine.",
]


def run(text: str) -> ClaimStream:
    s = ClaimStream(SOURCES)
    s.feed(text)
    s.finish()
    return s


@pytest.mark.parametrize("marker, refs", [
    ("[1]", (1,)), ("[1, 2]", (1, 2)), ("[1][2]", (1, 2)), ("[1], [2]", (1, 2)), ("【1】", (1,)),
    ("(1)", (1,)), ("Source 1", (1,)), ("[Source 2]", (2,)), ("(Sources 1 and 3)", (1, 3)),
    ("[1-3]", (1, 2, 3)),
])
def test_marker_forms(marker, refs):
    tokens, dropped = tokenize(f"Prisoners were released {marker}.", 3)
    assert [t for t in tokens if isinstance(t, tuple)] == [refs]
    assert dropped == 0


def test_out_of_range_numbers():
    tokens, dropped = tokenize("Released [99]. In (2022) it began [1][7].", 3)
    assert [t for t in tokens if isinstance(t, tuple)] == [(), (1,)]
    assert dropped == 2  # [99] and [7]; "(2022)" is prose, not a citation
    assert "(2022)" in "".join(t for t in tokens if isinstance(t, str))


def test_claims_cut_at_sentence_ends_not_abbreviations():
    tokens, _ = tokenize("The U.S. Senate met [1]. Then it rested. [2] Next line\n- a bullet [3]", 3)
    claims = ["".join(p if isinstance(p, str) else "#" for p in c) for c in segment(tokens)]
    assert claims == ["The U.S. Senate met #.", " Then it rested. #", " Next line", "\n- a bullet #"]


def test_check_wants_numbers_names_and_words():
    assert check("Each side freed 175 prisoners of war.", [SOURCES[0]]).supported
    wrong_number = check("Each side released 200 prisoners of war.", [SOURCES[0]])
    assert not wrong_number.supported and "200" in wrong_number.reason
    wrong_name = check("Biden said the call lasted about an hour.", [SOURCES[1]])
    assert not wrong_name.supported and "biden" in wrong_name.reason
    assert not check("The ceasefire talks collapsed in Geneva amid protests.", [SOURCES[2]]).supported
    assert check("The call lasted 1 hour.", ["The call lasted one hour."]).supported


def test_check_keeps_only_contributing_citations():
    result = check("Each side released 175 prisoners of war.", [SOURCES[1], SOURCES[0]])
    assert result.supported and result.kept == [1]


def test_stream_renumbers_and_drops():
    s = run("The call lasted about an hour [2][99]. Each side released 200 prisoners [1]. "
            "Putin rejected a 30-day ceasefire [3][1].")
    text = "".join(s.pieces)
    assert text == "The call lasted about an hour [1]. Putin rejected a 30-day ceasefire [2]."
    assert s.order == [2, 3]  # source 1 was cited only by the removed claim and by a bad marker
    assert s.markers_dropped == 1 and s.citations_dropped == 2
    assert len(s.removed) == 1 and "200" in s.removed[0]


def test_uncited_claims_are_left_out():
    s = run("Sure! Each side released 175 prisoners of war.")
    assert s.pieces == [] and s.removed == ["no citation"] * 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=180), max_size=12))
def test_streaming_in_any_pieces_gives_the_same_answer(cuts):
    """However the server splits its reply, the verified text is the same, and every piece
    handed to on_text is final (the pieces join to the answer)."""
    reply = ("Each side released 175 prisoners [1]. The call, said Trump, lasted about an hour. "
             "[2] [5]\n- Putin rejected a 30-day ceasefire (Source 3). Biden agreed [2].")
    whole = run(reply)
    shown: list[str] = []
    s = ClaimStream(SOURCES, shown.append)
    pos = 0
    for c in sorted(set(cuts)) + [len(reply)]:
        s.feed(reply[pos:c])
        pos = max(pos, c)
    s.finish()
    assert "".join(shown) == "".join(s.pieces) == "".join(whole.pieces)
    assert "".join(shown) == ("Each side released 175 prisoners [1]. The call, said Trump, lasted "
                              "about an hour. [2]\n- Putin rejected a 30-day ceasefire [3].")
