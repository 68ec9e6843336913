"""The page's API: gradio_client gets from /ask what qa.ask gives, and nothing else is exposed."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from qa import api

gradio_client = pytest.importorskip("gradio_client")
OUTGOING: list[str] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from pathlib import Path

    from index.settings import Settings
    from ui import serve
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-api") / "data", seed_dir=seeds)
    api.open_store(settings)
    # Record every outgoing connection the server makes (start-up, analytics, version checks).
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            OUTGOING.append(address[0])
        return real_connect(sock, address)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *a, **k):  # name lookups too: offline, a lookup fails before connect
        OUTGOING.append(host.decode() if isinstance(host, bytes) else str(host))
        return real_getaddrinfo(host, *a, **k)
    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
    try:
        demo, url = serve.start(settings, auth="reader:s3cret pass")
        yield url, settings
        demo.close()
    finally:
        socket.socket.connect = real_connect
        socket.getaddrinfo = real_getaddrinfo


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server[0], auth=("reader", "s3cret pass"), verbose=False)


def test_ask_endpoint_returns_the_structured_answer(client, server):
    _, settings = server
    got = client.predict("How many prisoners were exchanged?", api_name="/ask")
    direct = api.ask("How many prisoners were exchanged?", settings=settings).to_dict()
    assert got == direct
    assert "175" in got["text"] and not got["abstained"]
    c = got["citations"][0]
    text = api.get_article(c["article_id"], settings=settings).text
    assert text[c["start"]:c["end"]] == c["sentence"] == "Each side released 175 prisoners of war."
    assert text[c["answer_start"]:c["answer_end"]] == "175"


def test_ask_endpoint_takes_optional_history_and_article_ids(client, server):
    _, settings = server
    seed = next(a for a in api.list_articles(settings=settings) if a.title.startswith("US President"))
    got = client.predict(question="How long did it last?", article_ids=[seed.id],
                         # gradio 6 history: content may be a list of blocks
                         history=[{"role": "user",
                                   "content": [{"type": "text", "text": "Trump's call with Zelensky"}]}],
                         api_name="/ask")
    assert "hour" in got["text"]
    assert {c["article_id"] for c in got["citations"]} == {seed.id}


def test_ask_endpoint_reports_bad_input_in_one_line(client):
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="no article with id 'nope'"):
        client.predict("Who called?", article_ids=["nope"], api_name="/ask")


def test_only_ask_is_exposed_and_login_is_required(client, server):
    info = client.view_api(return_format="dict", print_info=False)
    assert list(info["named_endpoints"]) == ["/ask"]
    assert info["unnamed_endpoints"] == {}
    with pytest.raises(gradio_client.exceptions.AuthenticationError):
        gradio_client.Client(server[0], verbose=False)
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(server[0] + "config", timeout=10)


def test_server_and_client_talk_to_nothing_but_loopback(client):
    client.predict("How many prisoners were exchanged?", api_name="/ask")
    assert OUTGOING, "the recorder saw no connection at all"
    assert {a for a in OUTGOING if a not in ("127.0.0.1", "::1", "localhost", "None")} == set()


def test_ask_endpoint_takes_the_answerer_choice(client):
    got = client.predict("How many prisoners were exchanged?", None, None, "none", api_name="/ask")
    assert got["mode"] == "extractive" and "175" in got["text"]
    with pytest.raises(Exception, match="unknown LLM backend"):
        client.predict("How many prisoners were exchanged?", None, None, "gpt-magic", api_name="/ask")


def test_ask_endpoint_filters_by_date_and_site(client, server, tmp_path):
    import json
    _, settings = server
    f = tmp_path / "tolls.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"title": "Bridge toll rises", "text": "The bridge toll rose to 4 euros in March.",
         "url": "https://www.harbourwire.example/toll-march", "published": "2025-03-12"},
        {"title": "Bridge toll set", "text": "The bridge toll was set at 3 euros in January.",
         "url": "https://gazette.example/toll-january", "published": "2025-01-08"}]))
    api.ingest(str(f), settings=settings)
    q = "How much is the bridge toll?"
    for filters, want in [({"since": "2025-03-01"}, "4 euros"), ({"sites": ["gazette.example"]}, "3 euros"),
                          ({"until": "2025-02-01", "sites": ["harbourwire.example"]}, None)]:
        got = client.predict(question=q, api_name="/ask", **filters)
        assert got == api.ask(q, settings=settings, **filters).to_dict()
        if want:
            assert want in got["citations"][0]["sentence"]
            assert got["citations"][0]["published"] and got["citations"][0]["site"]
        else:
            assert got["abstained"] and "No article matches" in got["notice"]
    with pytest.raises(Exception, match="not a date"):
        client.predict(question=q, since="last week", api_name="/ask")
