"""The reader shipped in qa/models: its files, its input layout, and what it changes in answers."""

import hashlib
import json

import numpy as np
import pytest

from index.settings import Settings
from index.types import QAError
from qa import api
from qa.reader import CARD_FILE, MODEL_FILE, Reader, encode
from qa.rerank import FEATURES, QUESTION_FEATURES


def test_shipped_model_matches_its_card():
    card = json.loads(CARD_FILE.read_text())
    data = MODEL_FILE.read_bytes()
    assert card["model"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(data) <= 30e6
    assert len(card["fusion"]["weights"]) == len(card["fusion"]["features"])
    assert card["fusion"]["features"] == list(FEATURES)
    assert card["abstention"]["features"] == list(QUESTION_FEATURES)
    assert 0 < card["threshold"] < 1


def test_encoding_keeps_sentence_offsets():
    sentence = "It carried 4.2 million passengers in the month."
    enc = encode("How many passengers did the airline carry in May?",
                 [(sentence, "Airline traffic hits a record"), ("Short one.", "")])
    assert enc.ids.shape == enc.mask.shape == enc.types.shape
    assert enc.mask[1].sum() < enc.mask[0].sum()  # the second row is padded
    for pos, a, b in enc.sent_tokens[0]:
        assert enc.types[0, pos] == 1 and 0 <= a < b <= len(sentence)
    pieces = [sentence[a:b] for _, a, b in enc.sent_tokens[0]]
    assert "".join(pieces) == sentence.replace(" ", "")


def test_reader_prefers_the_sentence_with_the_fact():
    reader = Reader()
    title = "Airline reports record May traffic"
    lead = "The airline reported record passenger traffic for May, its chief executive said."
    fact = "It carried 4.2 million passengers in the month, up 12 percent."
    logits, spans = reader.run("How many passengers did the airline carry in May?",
                               [(lead, title), (fact, title)])
    assert logits[1] > logits[0]
    start, end, _ = spans[1]
    assert "4.2 million" in fact[start:end]


def test_reading_in_length_sorted_batches_keeps_each_rows_scores(monkeypatch):
    """Rows are read in small batches of like length, then put back in their order."""
    import qa.reader
    reader = Reader()
    title = "Airline reports record May traffic"
    rows = [("It carried 4.2 million passengers in the month, up 12 percent.", title),
            ("Shares rose.", title),
            ("The airline reported record passenger traffic for May, its chief executive said on "
             "Tuesday in a statement to the stock exchange in Dublin, citing strong demand.", title),
            ("Fuel costs fell by a third.", title)] * 3
    question = "How many passengers did the airline carry in May?"
    logits, spans = reader.run(question, rows)
    monkeypatch.setattr(qa.reader, "RUN_BATCH", len(rows))  # one batch, padded to the longest
    whole, whole_spans = reader.run(question, rows)
    assert np.argmax(logits) % 4 == np.argmax(whole) % 4 == 0
    assert np.allclose(logits, whole, atol=0.5)
    fact = rows[0][0]
    for i in range(0, len(rows), 4):  # the fact's rows: their own span, in either way of reading
        assert "4.2 million" in fact[spans[i][0]:spans[i][1]]
        assert "4.2 million" in fact[whole_spans[i][0]:whole_spans[i][1]]
    for i in range(4, len(rows)):  # the same row, read in another batch, scores about the same
        assert abs(logits[i] - logits[i % 4]) < 0.5


def test_seed_questions_that_the_article_does_not_answer_abstain(seeded_settings):
    for q in ("How tall is Donald Trump?", "What is the capital of Australia?"):
        ans = api.ask(q, settings=seeded_settings)
        assert ans.abstained and not ans.citations, q


def test_reranker_off_keeps_the_hand_weighted_path(seeded_settings):
    off = seeded_settings.with_(reranker="off")
    on = api.ask("How many prisoners were exchanged?", settings=seeded_settings)
    old = api.ask("How many prisoners were exchanged?", settings=off)
    assert "175" in on.citations[0].sentence and "175" in old.citations[0].sentence
    assert 0 < on.citations[0].score <= 1  # a probability with the reader on


def test_bad_reranker_settings_are_one_line_errors(tmp_path):
    with pytest.raises(QAError, match="QA_RERANKER"):
        Settings.from_env({"QA_RERANKER": "maybe"})
    s = Settings(data_dir=tmp_path / "d", reader_model=str(tmp_path / "nowhere"))
    with pytest.raises(QAError, match="QA_READER_MODEL"):
        api.ask("How many prisoners were exchanged?", settings=s)


def test_typed_near_misses_need_the_asked_kind_of_number():
    from qa.rerank import lacks_asked_type
    call = [("Trump held a one hour call with Zelensky in 2025.", 1.0)]  # numbers, but no height
    assert lacks_asked_type("How tall is Donald Trump?", call)
    assert not lacks_asked_type("How tall is the tower?", [("The tower is 324 metres tall.", 1.0)])
    fee = [("The club paid an undisclosed fee for the 24-year-old in 2023.", 1.0)]
    assert lacks_asked_type("How much did the club pay for him?", fee)
    assert not lacks_asked_type("How old is he?", fee)
    for paid in ("The club paid 40 million euros.", "The club paid $40m.", "It cost £1.2bn."):
        assert not lacks_asked_type("How much did the club pay?", [(paid, 1.0)]), paid
    assert lacks_asked_type("How old is the mayor?", [("The mayor, elected in 2019, spoke for 20 minutes.", 1.0)])
    assert not lacks_asked_type("How old is the mayor?", [("The mayor, 54, spoke.", 1.0)])
    assert not lacks_asked_type("How many people were hurt?", [("Twelve people were hurt.", 1.0)])
    assert lacks_asked_type("How many people were hurt?", [("People were hurt.", 0.0)])
    assert not lacks_asked_type("Who won the vote?", [("Nobody said.", 0.0)])  # not a number
