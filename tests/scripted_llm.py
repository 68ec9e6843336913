"""A scripted OpenAI-protocol chat server on loopback, shared by the generative and HTTP tests
and the benchmarks: it speaks chat completions (JSON and SSE streaming) with replies chosen by
the caller, so each behaviour of a real server or model is reproduced exactly.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Scripted(ThreadingHTTPServer):
    """Replies in order (the last one repeats). A reply is text, a function of the request
    body returning text, or a dict: {status, headers, sleep, raw} for failures."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: list = ["I cannot answer this from the articles."]
        self.requests: list[dict] = []
        self.delay = delay  # seconds before every reply, like a model writing it
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most ever answered at once
        self._count = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_reply(self, body: dict):
        r = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        return r(body) if callable(r) else r


def as_openai_server(monkeypatch, delay: float = 0.0) -> Scripted:
    """A scripted server that this process's generative answers use (OPENAI_BASE_URL, no key).
    Close it when done."""
    s = Scripted(delay)
    monkeypatch.setenv("OPENAI_BASE_URL", s.url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return s


def numbered(body: dict, sentence: str) -> int:
    """The number the prompt gave ``sentence`` (what a good model would cite)."""
    m = re.search(r"^\[(\d+)\] " + re.escape(sentence), body["messages"][-1]["content"], re.M)
    assert m, "the sentence was not in the prompt"
    return int(m.group(1))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv = self.server
        with srv._count:
            srv.requests.append(body)
            srv.in_flight += 1
            srv.most_in_flight = max(srv.most_in_flight, srv.in_flight)
        try:
            time.sleep(srv.delay)
            self._reply(body, srv.next_reply(body))
        finally:
            with srv._count:
                srv.in_flight -= 1

    def _reply(self, body: dict, reply) -> None:
        if isinstance(reply, dict):
            time.sleep(reply.get("sleep", 0))
            if "raw" in reply:
                ctype = "text/event-stream" if body.get("stream") else "application/json"
                return self._send(200, reply["raw"].encode(), ctype)
            if reply.get("status", 200) != 200:
                err = {"error": {"message": "scripted failure", "type": "rate_limit_exceeded"}}
                return self._send(reply["status"], json.dumps(err).encode(), headers=reply.get("headers"))
            reply = reply["text"]
        base = {"id": "chatcmpl-1", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            msg = {"role": "assistant", "content": reply}
            return self._send(200, json.dumps({**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": msg, "finish_reason": "stop"}]}).encode())
        events = [{"content": piece} for piece in re.findall(r"\S*\s*", reply) if piece]
        chunks = [{**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in events]
        chunks.append({**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._send(200, data.encode(), "text/event-stream")
