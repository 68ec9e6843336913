"""URL ingest against a misbehaving web server on loopback: bounded time and size, clear refusals.

Issue 6, "Bad input / URLs" and "Security / URL ingest". The server is a real ``http.server``
on 127.0.0.1; each path misbehaves in one way. Every refusal is one line naming the URL, and
the index is byte-for-byte the same afterwards.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import api
from index.types import QAError
from reliability_helpers import index_state

ARTICLE = ("<html><head><title>Lowmoor bridge reopens</title><script>track()</script></head><body>"
           "<nav>Home | World</nav><article><h1>Lowmoor bridge reopens</h1>"
           "<p>The harbour bridge in Lowmoor reopened on Tuesday after two years of repairs.</p>"
           "<p>Engineers replaced 140 steel cables at a cost of 12 million euros.</p></article>"
           "</body></html>")
TIMEOUT = 1.0  # QA_URL_TIMEOUT for these tests
LIMIT_MB = 0.05  # QA_MAX_FILE_MB for these tests: 50 kB


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def send(self, code=200, body=b"", ctype="text/html; charset=utf-8", length=True, headers=()):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: C901 - one branch per misbehaviour
        p = self.path
        try:
            if p == "/article.html":
                self.send(body=ARTICLE.encode())
            elif p == "/latin1.html":
                self.send(body="<p>Le café reçoit 300 élèves.</p>".encode("latin-1"),
                          ctype="text/html; charset=iso-8859-1")
            elif p == "/plain":
                self.send(body=b"Rail strike ends.\nDrivers return to work on Monday.", ctype="text/plain")
            elif p == "/missing":
                self.send(404, b"<h1>Not found</h1>")
            elif p == "/error":
                self.send(500, b"oops")
            elif p == "/scripts.html":
                self.send(body=b"<script>" + b"var x = 1;" * 100 + b"</script><style>p{}</style>")
            elif p == "/binary":
                self.send(body=bytes(range(256)) * 10, ctype="application/octet-stream")
            elif p == "/image":
                self.send(body=b"\x89PNG\r\n\x1a\n" + bytes(200), ctype="image/png")
            elif p == "/pdf-as-html":
                self.send(body=b"%PDF-1.7\n" + bytes(range(256)) * 4)
            elif p == "/big-declared":  # says how big it is: refused before reading the body
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                self.wfile.write(b"<p>" + b"x " * 1000)
            elif p == "/big-undeclared":  # no length: refused once the limit is passed
                self.send(body=b"<p>" + b"Word after word. " * 20_000, length=False)
                self.close_connection = True
            elif p == "/trickle":  # one byte every 0.2 s: each read is quick, the whole never ends
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                for _ in range(200):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif p == "/hang":  # accepts, never answers
                time.sleep(TIMEOUT * 5)
            elif p in ("/loop-a", "/loop-b"):
                self.send(302, headers=[("Location", "/loop-b" if p == "/loop-a" else "/loop-a")])
            elif p == "/to-file":
                self.send(302, headers=[("Location", "file:///etc/passwd")])
            elif p == "/to-ftp":
                self.send(301, headers=[("Location", "ftp://127.0.0.1/x.txt")])
            elif p == "/redirect-ok":
                self.send(302, headers=[("Location", "/article.html")])
            else:
                self.send(404)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def garbage_server():
    """Answers every connection with something that is not HTTP."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HELLO THERE\r\n\r\n")
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    t.join(2)
    sock.close()


@pytest.fixture(scope="module")
def url_settings(tmp_path_factory):
    from index.settings import Settings
    # the fixtures are served on loopback, which only the opt-in allows
    return Settings(data_dir=tmp_path_factory.mktemp("urls") / "data", seed_dir=None,
                    url_timeout=TIMEOUT, max_file_mb=LIMIT_MB, allow_private_urls=True)


@pytest.fixture(scope="module")
def store(url_settings, server):
    api.ingest(f"{server}/article.html", settings=url_settings)
    return api.open_store(url_settings, seed=False)


def refused(store, settings, url: str, match: str, max_seconds: float = TIMEOUT * 3) -> str:
    before = index_state(store)
    t0 = time.monotonic()
    with pytest.raises(QAError, match=match) as e:
        api.ingest(url, settings=settings)
    took = time.monotonic() - t0
    msg = str(e.value)
    assert "\n" not in msg and url in msg, msg
    assert took < max_seconds, f"{url} took {took:.1f} s"
    assert index_state(store) == before
    return msg


def test_good_page_is_ingested_without_scripts_or_menus(store, url_settings, server):
    [a] = api.ingest(f"{server}/article.html", settings=url_settings)
    assert a.title == "Lowmoor bridge reopens" and a.url == f"{server}/article.html"
    assert "140 steel cables" in a.text and "track()" not in a.text and "Home | World" not in a.text


def test_redirect_and_plain_text_and_latin1(store, url_settings, server):
    [a] = api.ingest(f"{server}/redirect-ok", settings=url_settings)
    assert a.url == f"{server}/article.html"  # same text as before: the stored article comes back
    [b] = api.ingest(f"{server}/plain", settings=url_settings)
    assert b.text.startswith("Rail strike ends.")
    [c] = api.ingest(f"{server}/latin1.html", settings=url_settings)
    assert "café reçoit 300 élèves" in c.text


@pytest.mark.parametrize("path,match", [
    ("/missing", "HTTP 404"),
    ("/error", "HTTP 500"),
    ("/scripts.html", "no readable text"),
    ("/binary", "content type application/octet-stream"),
    ("/image", "content type image/png"),
    ("/pdf-as-html", "binary"),
    ("/big-declared", r"1000 MB is over the 0\.05 MB limit"),
    ("/big-undeclared", r"over the 0\.05 MB limit"),
    ("/loop-a", "redirect"),
    ("/to-file", "not http"),
    ("/to-ftp", "not http"),
])
def test_misbehaving_server(store, url_settings, server, path, match):
    refused(store, url_settings, server + path, match)


@pytest.mark.parametrize("path", ["/trickle", "/hang"])
def test_time_is_bounded(store, url_settings, server, path):
    msg = refused(store, url_settings, server + path, "timed out", max_seconds=TIMEOUT + 2)
    assert "QA_URL_TIMEOUT" in msg or "timed out" in msg


def test_not_http_at_all(store, url_settings, garbage_server):
    refused(store, url_settings, garbage_server + "/", "cannot fetch")


def test_unreachable_port(store, url_settings):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    refused(store, url_settings, f"http://127.0.0.1:{port}/x", "cannot fetch.*refused")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "FILE:///etc/hostname", "ftp://127.0.0.1/x.txt",
                                 "gopher://127.0.0.1/", "data://text/plain,hello"])
def test_other_schemes_are_refused(store, url_settings, url):
    refused(store, url_settings, url, "only http:// and https://")


@pytest.mark.parametrize("url", ["http://", "http://127.0.0.1:99999/", "http://[::1/"])
def test_malformed_urls(store, url_settings, url):
    refused(store, url_settings, url, "cannot fetch|not a valid URL")


def test_bad_urls_among_good_sources_are_listed(store, url_settings, server):
    errors: list = []
    arts = api.ingest([f"{server}/plain", f"{server}/missing", "file:///etc/passwd"],
                      settings=url_settings, errors=errors)
    assert [a.url for a in arts] == [f"{server}/plain"]
    assert [s for s, _ in errors] == [f"{server}/missing", "file:///etc/passwd"]
