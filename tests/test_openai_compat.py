"""The OpenAI-compatible chat at /v1, driven by the official ``openai`` client, as `qa serve`
serves it (the APIs without the page) with QA_API_TOKEN set.

Both answerers: extractive (offline) and generative, the model being the scripted
OpenAI-protocol server of tests/scripted_llm.py, each streaming and not. Every reply carries
the [n] markers and a Sources list, and the structured citations in the extra ``citations``
field.
"""

from __future__ import annotations

import re

import openai
import pytest

from http_helpers import PRISONERS, check_citations, seeded, served
from qa import api
from scripted_llm import as_openai_server, numbered

TOKEN = "tok-123"
SEED_SENTENCE = "Each side released 175 prisoners of war."
CALL = "Trump said Wednesday’s call with Zelensky lasted about an hour."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = seeded(tmp_path_factory.mktemp("openai"), api_token=TOKEN)
    with served(settings, page=False) as url:
        yield url, settings


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server[0] + "v1", api_key=TOKEN, max_retries=0, timeout=60)


@pytest.fixture
def model(monkeypatch):
    """The scripted model server, as the answering server's OPENAI_BASE_URL."""
    s = as_openai_server(monkeypatch)
    yield s
    s.close()


def ask(client, content: str, *, stream: bool, history=(), **extra):
    """(reply text, citations) of one chat completion, streamed or not."""
    messages = [*history, {"role": "user", "content": content}]
    if not stream:
        r = client.chat.completions.create(model="qa-news", messages=messages, extra_body=extra or None)
        assert r.choices[0].finish_reason == "stop" and r.choices[0].message.role == "assistant"
        return r.choices[0].message.content, r.citations
    chunks = list(client.chat.completions.create(model="qa-news", messages=messages, stream=True,
                                                 extra_body=extra or None))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    return "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].citations


def assert_cited(text: str, citations: list[dict], settings) -> None:
    """The markers point at the citations; the Sources list shows each one; offsets are exact."""
    answer, _, sources = text.partition("\n\nSources:\n")
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == set(range(1, len(citations) + 1))
    for n, c in enumerate(citations, 1):
        assert f"- [{n}] {c['title']} (paragraph {c['paragraph'] + 1}, sentence " \
               f"{c['sentence_index'] + 1}): “{c['sentence']}”" in sources
    check_citations({"citations": citations}, settings)


@pytest.mark.parametrize("stream", [False, True])
def test_extractive_answers_carry_markers_sources_and_citations(client, server, stream):
    text, citations = ask(client, PRISONERS, stream=stream)
    direct = api.ask(PRISONERS, settings=server[1])
    assert text.startswith(direct.text + "\n\nSources:\n")
    assert citations == [c.to_dict() for c in direct.citations]
    assert citations[0]["sentence"] == SEED_SENTENCE
    assert_cited(text, citations, server[1])


@pytest.mark.parametrize("stream", [False, True])
def test_generative_answers_carry_markers_sources_and_citations(client, server, model, stream):
    model.replies = [lambda b: f"Each side released 175 prisoners of war [{numbered(b, SEED_SENTENCE)}]."]
    text, citations = ask(client, PRISONERS, stream=stream, llm="openai")
    assert model.requests and model.requests[-1]["stream"] is True  # the model was asked
    assert text.startswith("Each side released 175 prisoners of war [1].\n\nSources:\n- [1] ")
    assert [c["sentence"] for c in citations] == [SEED_SENTENCE] and citations[0]["verified"]
    assert_cited(text, citations, server[1])


def test_generative_stream_arrives_in_pieces(client, model):
    model.replies = [lambda b: f"Each side released 175 prisoners of war [{numbered(b, SEED_SENTENCE)}]. "
                               f"The call lasted about an hour [{numbered(b, CALL)}]."]
    chunks = list(client.chat.completions.create(
        model="qa-news", stream=True, extra_body={"llm": "openai"},
        messages=[{"role": "user",
                   "content": "How many prisoners were exchanged, and how long was the call?"}]))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    # the verified sentences come as they are checked (one piece each, or joined when they
    # are checked faster than they are sent), then the sources in a piece of their own
    answer = "Each side released 175 prisoners of war [1]. The call lasted about an hour [2]."
    assert pieces[0].startswith("Each side released 175 prisoners of war [1].")
    assert "".join(pieces[:-1]) == answer and pieces[-1].startswith("\n\nSources:\n- [1] ")


def test_earlier_turns_are_the_history(client, model):
    model.replies = ["How long did the phone call between Trump and Zelensky last?",
                     lambda b: f"It lasted about an hour [{numbered(b, CALL)}]."]
    earlier_reply = "Zelensky. [1]\n\nSources:\n- [1] A title (paragraph 1, sentence 2): “SECRET-SOURCE”"
    text, citations = ask(client, "And how long?", stream=False, llm="openai", history=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Who did Trump call on Wednesday?"},
        {"role": "assistant", "content": earlier_reply}])
    condense, answer = model.requests
    convo = condense["messages"][-1]["content"]
    assert "Who did Trump call on Wednesday?" in convo and "Zelensky" in convo
    assert "SECRET-SOURCE" not in convo and "helpful assistant" not in convo  # answers only, no system turn
    assert CALL in answer["messages"][-1]["content"]
    assert text.startswith("It lasted about an hour [1].") and citations[0]["sentence"] == CALL


def test_complete_short_question_after_another_is_answered(client):
    """Offline, "how long was the call?" after the prisoner question is read on its own."""
    text, citations = ask(client, "how long was the call?", stream=False, history=[
        {"role": "user", "content": "How many prisoners were exchanged?"},
        {"role": "assistant", "content": SEED_SENTENCE + " [1]"}])
    assert text.startswith(CALL + " [1]") and citations[0]["sentence"] == CALL


def test_models_lists_qa_news(client):
    assert [m.id for m in client.models.list()] == ["qa-news"]


def test_errors_reach_the_client_as_openai_errors(client, server):
    with pytest.raises(openai.NotFoundError, match="no model 'gpt-4o' here; use 'qa-news'"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError, match='the last message must be the question'):
        client.chat.completions.create(model="qa-news", messages=[{"role": "assistant", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError, match="question is empty"):
        client.chat.completions.create(model="qa-news", messages=[{"role": "user", "content": " "}],
                                       stream=True)
    with pytest.raises(openai.NotFoundError, match="no article with id 'nope'"):
        client.chat.completions.create(model="qa-news", messages=[{"role": "user", "content": "Who?"}],
                                       extra_body={"article_ids": ["nope"]})
    wrong = openai.OpenAI(base_url=server[0] + "v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="Authorization: Bearer"):
        wrong.models.list()


def test_content_parts_and_article_ids_are_read(client, server):
    seed = api.list_articles(settings=server[1])[0]
    r = client.chat.completions.create(
        model="qa-news", extra_body={"article_ids": [seed.id]},
        messages=[{"role": "user", "content": [{"type": "text", "text": PRISONERS}]}])
    assert "175" in r.choices[0].message.content
    assert {c["article_id"] for c in r.citations} == {seed.id}
