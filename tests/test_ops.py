"""What a load balancer and an operator use: /healthz, /readyz, /metrics and the access log,
over real HTTP on loopback, on `qa serve` (the APIs) and `qa chat` (the page too), both with a
login that these three routes do not ask for."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest

from http_helpers import PRISONERS, seeded, served

TOKEN = "ops-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if m and m[1] == name and dict(re.findall(r'(\w+)="([^"]*)"', m[2] or "")) == labels:
            return float(m[3])
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=[False, True], ids=["serve", "chat"])
def server(request, tmp_path_factory):
    settings = seeded(tmp_path_factory.mktemp("ops"))
    with served(settings, auth=f"ops:{TOKEN}", page=request.param) as url:
        yield url


def test_health_and_readiness_need_no_token(server):
    r = httpx.get(server + "healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = httpx.get(server + "readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    assert httpx.get(server + "api/v1/articles").status_code == 401  # the API still wants it
    r = httpx.put(server + "healthz")  # under `qa chat` too, where the page serves other paths
    assert r.status_code == 405 and r.headers["allow"] == "GET" and "use GET" in r.json()["error"]
    assert httpx.options(server + "metrics").headers["allow"] == "GET, OPTIONS"


def test_metrics_count_asks_errors_and_ingests(server):
    before = httpx.get(server + "metrics").text
    assert "qa_asks_total" in before or "# TYPE qa_asks counter" in before
    ok = httpx.post(server + "api/v1/ask", json={"question": PRISONERS}, headers=AUTH, timeout=60)
    assert ok.status_code == 200 and not ok.json()["abstained"]
    out = httpx.post(server + "api/v1/ask", json={"question": "Who won the 1954 chess olympiad?"},
                     headers=AUTH, timeout=60)
    assert out.json()["abstained"]
    assert httpx.post(server + "api/v1/ask", json={"question": " "}, headers=AUTH).status_code == 400
    assert httpx.get(server + "api/v1/articles/nope", headers=AUTH).status_code == 404
    added = httpx.post(server + "api/v1/articles", headers=AUTH, timeout=60, json={
        "title": "Ferry strike", "text": "The ferry crews went on strike for three days in May."})
    assert added.status_code == 201
    chat = httpx.post(server + "v1/chat/completions", headers=AUTH, timeout=60, json={
        "model": "qa-news", "messages": [{"role": "user", "content": PRISONERS}]})
    assert chat.status_code == 200
    httpx.delete(server + f"api/v1/articles/{added.json()['articles'][0]['id']}", headers=AUTH)

    after = httpx.get(server + "metrics")
    assert after.headers["content-type"].startswith("text/plain")
    now = after.text

    def grew(name, by, **labels):
        assert sample(now, name, **labels) - sample(before, name, **labels) == by, (name, labels)
    grew("qa_asks_total", 2, mode="extractive", outcome="answered")  # the API's and the chat's
    grew("qa_asks_total", 1, mode="extractive", outcome="abstained")
    grew("qa_asks_total", 1, mode="unknown", outcome="error")  # the empty question
    grew("qa_ask_duration_seconds_count", 4)
    grew("qa_ingested_articles_total", 1)
    grew("qa_errors_total", 1, status="400", kind="QAError")
    grew("qa_errors_total", 1, status="404", kind="NotFoundError")
    grew("qa_http_requests_total", 1, method="GET", route="/api/v1/articles/{article_id}", status="404")
    grew("qa_http_requests_total", 1, method="DELETE", route="/api/v1/articles/{article_id}", status="200")
    assert sample(now, "qa_asks_in_progress") == 0
    assert TOKEN not in now and PRISONERS not in now  # nothing a request said shows


def test_access_log_is_one_json_line_per_request_without_secrets(server, caplog):
    with caplog.at_level(logging.INFO, logger="qa.access"):
        httpx.get(server + "api/v1/articles?limit=1", headers=AUTH)
        httpx.get(server + "api/v1/articles")  # no token: 401
        time.sleep(0.2)  # the line is written as the response ends, on the server's thread
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "qa.access"]
    mine = [x for x in lines if x["path"] == "/api/v1/articles"]
    assert [x["status"] for x in mine] == [200, 401]
    for x in mine:
        assert set(x) == {"time", "method", "path", "status", "ms", "client"}
        assert x["method"] == "GET" and x["ms"] >= 0 and x["client"].startswith("127.0.0.1:")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", x["time"])
    assert all(TOKEN not in r.getMessage() and "limit=1" not in r.getMessage() for r in caplog.records)


def test_not_ready_when_the_vector_store_is_down(tmp_path, caplog):
    port = free_port()  # a loopback port where no Chroma server listens
    settings = seeded(tmp_path, chroma_url=f"http://chroma:pa55word@127.0.0.1:{port}")
    from ui import serve
    server, url = serve.start(settings, page=False)
    try:
        assert httpx.get(url + "healthz").status_code == 200  # up, though not ready
        for _ in range(100):  # "still opening" while the warm-up tries the store, then why not
            r = httpx.get(url + "readyz", timeout=60)
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            err = r.json()["error"]
            if "still opening" not in err:
                break
            time.sleep(0.1)
        assert err.startswith("not ready: ") and f"127.0.0.1:{port}" in err and "\n" not in err
        assert "pa55word" not in err and "chroma:***@" in err
        assert "pa55word" not in caplog.text  # nor in the server's log
    finally:
        server.close()


def test_qa_serve_writes_the_access_log_to_stderr(tmp_path):
    port = free_port()
    env = {**os.environ, "QA_DATA_DIR": str(tmp_path / "data"), "QA_SEED_DIR": "",
           "QA_API_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port)], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/articles", headers=AUTH).status_code == 200
    finally:
        proc.terminate()
        err = proc.communicate(timeout=30)[1]
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(x["path"], x["status"]) for x in logged][-1] == ("/api/v1/articles", 200)
    assert TOKEN not in err and "Authorization" not in err
