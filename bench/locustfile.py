"""Locust users for `qa serve` replicas: each asks through the JSON API (POST /api/v1/ask) and the
OpenAI-compatible chat (POST /v1/chat/completions), half and half, with no think time (each
user is a client that asks again as soon as it has its answer).

Run by bench/load.py, or by hand against running replicas:

    QA_LOAD_HOSTS=http://127.0.0.1:7861,http://127.0.0.1:7862 QA_API_TOKEN=... \\
        locust -f bench/locustfile.py --headless -u 8 -r 8 -t 30s --host http://127.0.0.1:7861

QA_LOAD_HOSTS (comma-separated) spreads the users over the replicas round-robin, as a load
balancer would; without it every user goes to --host. QA_LOAD_QUESTIONS names a JSON file with
a list of questions (default: the seed article's question). A reply counts as a failure unless
it is 200 with an answer whose citations, if any, name an article.
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import HttpUser, constant, task

HOSTS = [h.strip().rstrip("/") for h in os.environ.get("QA_LOAD_HOSTS", "").split(",") if h.strip()]
QUESTIONS = (json.loads(open(os.environ["QA_LOAD_QUESTIONS"]).read())
             if os.environ.get("QA_LOAD_QUESTIONS") else ["How many prisoners were exchanged?"])
TOKEN = os.environ.get("QA_API_TOKEN", "")
_next_host = itertools.count()


class Reader(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        if HOSTS:  # this user's replica, round-robin
            self.client.base_url = HOSTS[next(_next_host) % len(HOSTS)]
        if TOKEN:
            self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        self.rng = random.Random()

    @task
    def ask(self) -> None:
        q = self.rng.choice(QUESTIONS)
        with self.client.post("/api/v1/ask", json={"question": q}, name="POST /api/v1/ask",
                              catch_response=True) as r:
            check(r, lambda body: body["citations"])

    @task
    def chat(self) -> None:
        q = self.rng.choice(QUESTIONS)
        with self.client.post("/v1/chat/completions", name="POST /v1/chat/completions",
                              json={"model": "qa-news", "messages": [{"role": "user", "content": q}]},
                              catch_response=True) as r:
            check(r, lambda body: body["citations"])


def check(r, citations) -> None:
    if r.status_code != 200:
        r.failure(f"{r.status_code}: {r.text[:200]}")
        return
    try:
        if not all(c.get("article_id") for c in citations(r.json())):
            r.failure("a citation without an article id")
    except (ValueError, KeyError, TypeError) as e:
        r.failure(f"not an answer ({type(e).__name__})")
