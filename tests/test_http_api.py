"""The JSON API under /api/v1 over real HTTP on loopback, as `qa chat --auth` serves it.

One server per module (the page, the APIs, a login), in this process on a free port, with its
own data folder seeded from seeds/. Each endpoint's success and error cases; every error is
one line of JSON with its status.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from http_helpers import PRISONERS, check_citations, seeded, served, sse_events
from index.types import QAError
from qa import api

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT_MB = 0.05  # QA_MAX_FILE_MB here: article bodies over 50 kB are refused


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the page fixture below is served on loopback, which a real server refuses by default
    settings = seeded(tmp_path_factory.mktemp("http"), max_file_mb=LIMIT_MB, allow_private_urls=True)
    with served(settings, auth=f"reader:{TOKEN}") as url:
        yield url, settings


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server[0] + "api/v1", headers=AUTH, timeout=60) as c:
        yield c


def assert_error(r: httpx.Response, status: int, *words: str) -> None:
    """A JSON error of one line, with this status, saying these words."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    msg = r.json()["error"]
    assert isinstance(msg, str) and "\n" not in msg and "Traceback" not in msg
    for w in words:
        assert w in msg, msg


# --- ask ---

def test_ask_returns_what_qa_ask_returns(http, server):
    r = http.post("/ask", json={"question": PRISONERS})
    assert r.status_code == 200
    got = r.json()
    assert got == api.ask(PRISONERS, settings=server[1]).to_dict()
    assert "175" in got["text"] and "[1]" in got["text"] and not got["abstained"]
    c = got["citations"][0]
    text = api.get_article(c["article_id"], settings=server[1]).text
    assert text[c["start"]:c["end"]] == c["sentence"] == "Each side released 175 prisoners of war."
    assert text[c["answer_start"]:c["answer_end"]] == "175"


def test_ask_takes_history_article_ids_and_the_answerer(http, server):
    seed = api.list_articles(settings=server[1])[0]
    got = http.post("/ask", json={"question": "How long did it last?", "article_ids": [seed.id],
                                  "history": ["Trump's call with Zelensky"], "llm": "none"}).json()
    assert "hour" in got["text"] and got["mode"] == "extractive"
    assert {c["article_id"] for c in got["citations"]} == {seed.id}
    # the history and the filter reach qa.ask: the same answer as in-process, with them and without
    assert got == api.ask("How long did it last?", history=["Trump's call with Zelensky"],
                          article_ids=[seed.id], settings=server[1]).to_dict()
    alone = http.post("/ask", json={"question": "How long did it last?"}).json()
    assert alone == api.ask("How long did it last?", settings=server[1]).to_dict()


def test_streamed_ask_is_server_sent_events(http, server):
    with http.stream("POST", "/ask", json={"question": PRISONERS, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    names = [n for n, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"}, names
    answer = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "delta") == answer["text"]
    assert answer == api.ask(PRISONERS, settings=server[1]).to_dict()
    check_citations(answer, server[1])


def test_bad_questions_are_400(http):
    assert_error(http.post("/ask", json={"question": "   "}), 400, "question is empty")
    assert_error(http.post("/ask", json={"question": "   ", "stream": True}), 400, "question is empty")
    assert_error(http.post("/ask", json={}), 400, "question", "Field required", "/api/v1/docs")
    assert_error(http.post("/ask", json={"qustion": "Who?"}), 400, "unknown field 'qustion'")
    assert_error(http.post("/ask", content=b"{not json", headers={"Content-Type": "application/json"}),
                 400, "not valid JSON")
    assert_error(http.post("/ask", json={"question": "Who?", "llm": "gpt-magic"}), 400,
                 "unknown LLM backend", "use none, openai or llamacpp")
    assert_error(http.post("/ask", json={"question": 42}), 400, "question")


def test_unknown_ids_and_paths_are_404(http):
    assert_error(http.post("/ask", json={"question": "Who?", "article_ids": ["nope"]}), 404,
                 "no article with id 'nope'")
    assert_error(http.get("/articles/nope"), 404, "no article with id 'nope'")
    assert_error(http.delete("/articles/nope"), 404, "no article with id 'nope'")
    assert_error(http.get("/nothing"), 404, "no endpoint GET /api/v1/nothing", "/api/v1/docs")
    # an endpoint's path with another method: 405 naming the methods (not the page's 404)
    r = http.get("/ask")
    assert_error(r, 405, "GET is not allowed on /api/v1/ask; use POST")
    assert r.headers["allow"] == "POST"
    r = http.put("/articles/nope", json={})
    assert_error(r, 405, "use DELETE or GET")
    assert r.headers["allow"] == "DELETE, GET"
    assert http.request("QUERY", "/ask").headers["allow"] == "POST"  # any method, even a new one
    r = http.options("/articles/nope")  # every method of the path, not only the first route's
    assert r.status_code == 204 and r.headers["allow"] == "DELETE, GET, OPTIONS"


def test_bodies_over_the_limits_are_413(http):
    big = {"question": "Who? " + "x" * 1_100_000}
    assert_error(http.post("/ask", json=big), 413, "over the 1 MB limit")

    def chunks():  # no Content-Length: the limit is counted as the body streams in
        yield b'{"question": "Who?", "history": ["'
        for _ in range(30):
            yield b"x" * 50_000
        yield b'"]}'
    assert_error(http.post("/ask", content=chunks(), headers={"Content-Type": "application/json"}),
                 413, "over the 1 MB limit")
    text = "The town council met on Monday. " * 2000  # 64 kB
    assert_error(http.post("/articles", json={"title": "Long", "text": text}), 413,
                 f"over the {LIMIT_MB:g} MB limit", "QA_MAX_FILE_MB")
    assert http.post("/ask", json={"question": PRISONERS}).status_code == 200  # still serving


# --- articles ---

def test_add_list_read_and_delete_an_article(http, server):
    before = http.get("/articles").json()
    record = {"title": "Harbour reopens", "text": "The harbour of Lowmoor reopened on Tuesday.\n\n"
              "Engineers replaced 140 steel cables at a cost of 12 million euros.",
              "url": "https://news.example/lowmoor", "published": "2026-03-19"}
    r = http.post("/articles", json=record)
    assert r.status_code == 201, r.text
    [added] = r.json()["articles"]
    assert (added["title"], added["url"], added["published"], added["sentences"]) == (
        "Harbour reopens", record["url"], "2026-03-19", 2)
    assert http.post("/articles", json=record).json()["articles"] == [added]  # same text: no-op

    page = http.get("/articles").json()
    assert page["total"] == before["total"] + 1 and page["articles"][0]["id"] == added["id"]  # newest first
    assert http.get("/articles", params={"limit": 1, "offset": 1}).json()["articles"] == page["articles"][1:2]

    full = http.get(f"/articles/{added['id']}").json()
    assert full["text"] == record["text"] and len(full["sentences"]) == 2
    for s in full["sentences"]:
        assert full["text"][s["start"]:s["end"]] == s["text"]
    got = http.post("/ask", json={"question": "How many steel cables were replaced?"}).json()
    assert got["citations"][0]["article_id"] == added["id"] and "140" in got["citations"][0]["sentence"]

    # a new version at the same url replaces the old one
    newer = {**record, "text": record["text"].replace("140", "150")}
    [replaced] = http.post("/articles", json=newer).json()["articles"]
    assert replaced["id"] != added["id"]
    assert_error(http.get(f"/articles/{added['id']}"), 404)

    assert http.delete(f"/articles/{replaced['id']}").json() == {"removed": replaced["id"]}
    assert_error(http.get(f"/articles/{replaced['id']}"), 404)
    assert http.get("/articles").json()["total"] == before["total"]


def test_add_records_in_one_batch_all_or_nothing(http):
    total = http.get("/articles").json()["total"]
    records = [{"title": f"Story {i}", "text": f"Story number {i} happened in town {i}."} for i in range(3)]
    assert_error(http.post("/articles", json={"records": records + [{"title": "Empty", "text": " "}]}),
                 400, "record 4", "text")
    assert http.get("/articles").json()["total"] == total  # the bad record stopped the whole batch
    r = http.post("/articles", json={"records": records})
    assert r.status_code == 201
    assert [a["title"] for a in r.json()["articles"]] == ["Story 0", "Story 1", "Story 2"]
    for a in r.json()["articles"]:
        http.delete(f"/articles/{a['id']}")


def test_add_a_page_by_url(http):
    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = (b"<html><head><title>Rail strike ends</title></head><body><article>"
                    b"<p>Drivers return to work on Monday after a 9-day strike.</p></article></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{site.server_address[1]}/strike.html"
        [a] = http.post("/articles", json={"url": url}).json()["articles"]
        assert a["title"] == "Rail strike ends" and a["source"] == url
        got = http.post("/ask", json={"question": "How long was the rail strike?"}).json()
        assert "9-day" in got["citations"][0]["sentence"]
        http.delete(f"/articles/{a['id']}")
    finally:
        site.shutdown()
        site.server_close()
    assert_error(http.post("/articles", json={"url": url}), 400, "cannot fetch", url)


def test_bad_article_requests_are_400(http):
    assert_error(http.post("/articles", json={}), 400, '{"url": "https://..."}', "records")
    assert_error(http.post("/articles", json={"title": "No text"}), 400, 'a record needs "text"')
    assert_error(http.post("/articles", json={"url": "ftp://x/y"}), 400, "only http:// and https://")
    assert_error(http.post("/articles", json={"records": [], "text": "x"}), 400, "not both")
    assert_error(http.get("/articles", params={"limit": 0}), 400, "limit")


# --- login ---

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}])
def test_401_without_the_right_token(server, headers):
    url = server[0]
    calls = [("POST", "api/v1/ask", {"question": PRISONERS}), ("GET", "api/v1/articles", None),
             ("GET", "api/v1/articles/3d45f43e25fa7a30", None),
             ("POST", "api/v1/articles", {"title": "T", "text": "Some text here."}),
             ("DELETE", "api/v1/articles/3d45f43e25fa7a30", None), ("GET", "v1/models", None),
             ("POST", "v1/chat/completions", {"model": "qa-news",
                                              "messages": [{"role": "user", "content": PRISONERS}]})]
    for method, path, body in calls:
        r = httpx.request(method, url + path, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        err = r.json()["error"]
        assert "Authorization: Bearer" in (err if isinstance(err, str) else err["message"])
    assert len(api.list_articles(settings=server[1])) >= 1  # nothing was removed


def test_docs_and_schema_are_served_from_this_machine(server):
    url = server[0]
    schema = httpx.get(url + "api/v1/openapi.json").json()
    assert {"/api/v1/ask", "/api/v1/articles", "/api/v1/articles/{article_id}", "/v1/chat/completions",
            "/v1/models"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Answer" in schema["components"]["schemas"]
    page = httpx.get(url + "api/v1/docs").text
    assert "/api/v1/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert httpx.get(url + "api/v1/docs-assets/swagger-ui-bundle.js").status_code == 200
    # the page keeps its own login: without it, its config is refused
    assert httpx.get(url + "config").status_code == 401


# --- serving rules ---

def test_the_index_down_is_503(tmp_path):
    import socket
    with socket.socket() as s:  # a loopback port where no Chroma server listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = seeded(tmp_path, chroma_url=f"http://127.0.0.1:{port}")
    from ui import serve
    server, url = serve.start(settings, page=False)
    try:
        r = httpx.post(url + "api/v1/ask", json={"question": PRISONERS}, timeout=60)
        assert_error(r, 503, f"the Chroma server at http://127.0.0.1:{port}", "start it")
        assert_error(httpx.get(url + "api/v1/articles", timeout=60), 503, "Chroma server")
        assert httpx.get(url, follow_redirects=False).headers["location"] == "/api/v1/docs"  # no page
    finally:
        server.close()


def test_no_login_means_loopback_only(tmp_path):
    from ui.serve import check_exposure, credentials, is_loopback
    from index.settings import Settings
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example")
    for page in (True, False):
        with pytest.raises(QAError, match="needs a login: add --auth user:password"):
            check_exposure("0.0.0.0", page=page, login=None, token="")
        check_exposure("127.0.0.1", page=page, login=None, token="")
    check_exposure("0.0.0.0", page=True, login=("u", "p"), token="p")
    check_exposure("0.0.0.0", page=False, login=None, token="t")  # `qa serve` with QA_API_TOKEN
    with pytest.raises(QAError, match="QA_AUTH"):  # the page needs its own login
        check_exposure("0.0.0.0", page=True, login=None, token="t")
    s = Settings(data_dir=tmp_path, auth="ann:pw")
    assert credentials(s, None) == (("ann", "pw"), "pw")
    assert credentials(s.with_(api_token="tok"), None) == (("ann", "pw"), "tok")
    assert credentials(s, "bob:x") == (("bob", "x"), "x")
    assert "pw" not in repr(s) and "tok" not in repr(s.with_(api_token="tok"))  # secrets stay out of logs


def test_serve_command_refuses_the_network_without_a_login(tmp_path, capsys):
    from qa import cli
    assert cli.main(["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: serving on 0.0.0.0 needs a login") and err.count("\n") == 1
