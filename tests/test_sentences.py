from index.chunks import chunk_metadata, make_chunks
from index.sentences import split_sentences, is_furniture
from index.store import article_id
from index.types import Article

from conftest import SEED_FILE


def texts(t):
    return [s.text for s in split_sentences(t)]


def test_seed_offsets_and_known_boundaries():
    text = SEED_FILE.read_text(encoding="utf-8")
    sents = split_sentences(text, "a")
    for s in sents:
        assert text[s.start:s.end] == s.text
    got = [s.text for s in sents]
    assert "Each side released 175 prisoners of war." in got
    # a headline-like line without a final period stands alone
    assert "The agreement shows that an agreement is never dead with Trump" in got
    assert [s.index for s in sents] == list(range(len(sents)))
    assert all(a.paragraph <= b.paragraph for a, b in zip(sents, sents[1:]))


def test_abbreviations_decimals_initials():
    assert texts("Mr. Smith met Dr. Jones on Feb. 5 in the U.S. capital. It cost $3.5 million.") == [
        "Mr. Smith met Dr. Jones on Feb. 5 in the U.S. capital.", "It cost $3.5 million."]
    assert texts("J. R. R. Tolkien wrote it. Then he slept.") == ["J. R. R. Tolkien wrote it.", "Then he slept."]


def test_quotes_and_questions():
    assert texts("He said: “Stop.” Then he left! Did he? Yes.") == [
        "He said: “Stop.”", "Then he left!", "Did he?", "Yes."]
    # a quote ending in a comma, or followed by lowercase, does not end the sentence
    assert texts("“It was great,” he said. “Really?” she asked.") == [
        "“It was great,” he said.", "“Really?” she asked."]


def test_paragraph_break_ends_sentence_and_wrapped_lines_join():
    assert texts("Headline here\n\nBody one. Body two.") == ["Headline here", "Body one.", "Body two."]
    wrapped = ("The committee met on Monday to discuss the\nbudget and the plans for the\n"
               "new school, which were approved\nby a large majority. Then it closed.\n")
    assert texts(wrapped) == ["The committee met on Monday to discuss the\nbudget and the plans for the\n"
                              "new school, which were approved\nby a large majority.", "Then it closed."]


def test_chunks_are_sentence_aligned_with_flat_metadata():
    text = SEED_FILE.read_text(encoding="utf-8")
    aid = article_id(text)
    a = Article(aid, "t", text, url="https://www.Example.com/x", published="2025-03-19T14:05:00+01:00",
                sentences=tuple(split_sentences(text, aid)))
    chunks = make_chunks(a)
    assert len(chunks) == len(a.sentences)
    for c in chunks:
        assert text[c.start:c.end] == c.text
        meta = chunk_metadata(c, a)
        assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())
        assert meta["article_id"] == aid
        assert meta["day"] == 20250319 and meta["site"] == "example.com"  # what filters compare
    undated = chunk_metadata(chunks[0], Article(aid, "t", text))
    assert "day" not in undated and "site" not in undated  # so no date range or site matches it
    assert article_id(text) == aid and article_id(text + " ") != aid


def test_page_furniture_is_recognised_and_news_is_not():
    furniture = ["Read more: Why the toll is rising", "Related: Council approves budget",
                 "Photo: K. Davies/The Riverina Leader", "By Ann Lee, Courts Correspondent",
                 "By Priya Anand and Jonah Feld", "— City FC (@CityFC) March 3, 2025"]
    news = ["By early evening, 168 departures had been cancelled.",
            "By Tuesday the river had fallen by a metre.",
            "Photo: A rescue helicopter lands at the search base on Wednesday, carrying two climbers.",
            "What a start from the boys. — City FC (@CityFC) March 3, 2025",
            "Related payments rose by 4 percent, the bank said."]
    assert [t for t in furniture if not is_furniture(t)] == []
    assert [t for t in news if is_furniture(t)] == []
