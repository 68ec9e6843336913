"""Replicas on one PostgreSQL catalog and one Chroma server behave as one product.

Real processes on loopback: a throwaway PostgreSQL cluster, ``chroma run``, and ``qa serve`` /
``qa ingest`` processes with QA_DATABASE_URL and QA_CHROMA_URL (issue 16). What one replica
ingests the other answers from at once; a removal through one is seen by the other; a replica
killed with SIGKILL in the middle of an ingest leaves no article half there, the other keeps
answering, and the killed one repairs the leftovers when it starts again. Two ingest processes
on overlapping inputs store every article once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from http_helpers import TOWNS, town_article, town_question
from services import ChromaServer, Replica, half_there, shared_state, stray_vectors, vector_collection

QA = str(Path(sys.executable).with_name("qa"))


def records(names: list[str], first: int = 0) -> list[dict]:
    return [{"title": town_article(first + i, n).split("\n")[0], "text": town_article(first + i, n),
             "url": f"https://news.example/{n.lower().replace(' ', '-')}", "published": "2025-03-19"}
            for i, n in enumerate(names)]


def harbours(n: int, offset: int = 0) -> list[dict]:
    """Distinct stories about numbered harbours (a batch big enough to take a few seconds)."""
    out = []
    for i in range(offset, offset + n):
        text = (f"Harbour {i} report\n\nThe harbour of Port {i} handled {i * 13 + 7} ships in March.\n"
                f"Its pier number {i} was rebuilt for {i + 3} million euros by a crew of {i + 40}.\n"
                f"The mayor of Port {i} said trade grew by {i % 17 + 2} percent this year.\n"
                f"Ferries to Port {i} will run {i % 5 + 1} times a day from May.\n")
        out.append({"title": f"Harbour {i} report", "text": text})
    return out


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    srv = ChromaServer(tmp_path_factory.mktemp("chroma") / "store").start()
    yield srv
    srv.stop()


def pending_count(database_url: str) -> int:
    import psycopg
    with psycopg.connect(database_url, autocommit=True) as c:
        try:
            return c.execute("select count(*) from pending").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


def cited(reply: dict) -> list[tuple[str, int, int]]:
    return [(c["article_id"], c["start"], c["end"]) for c in reply["citations"]]


def test_two_replicas_answer_alike_and_survive_kill_9(pg_url, chroma, tmp_path):
    a = Replica("a", pg_url, chroma.url, tmp_path / "a" / "data").start()
    b = Replica("b", pg_url, chroma.url, tmp_path / "b" / "data").start()
    try:
        # ingest through A; B answers from it at once, citing the same sentences
        added = a.post("/api/v1/articles", {"records": records(TOWNS[:4])})["articles"]
        assert len(added) == 4
        question = town_question(TOWNS[2])
        from_a, from_b = a.post("/api/v1/ask", {"question": question}), b.post("/api/v1/ask", {"question": question})
        assert not from_b["abstained"] and "17 bridges" in from_b["citations"][0]["sentence"]
        assert cited(from_b) == cited(from_a)
        assert b.get("/api/v1/articles")["total"] == 4

        # a removal through B is seen by A
        gone = next(x["id"] for x in added if TOWNS[0] in x["title"])
        b.delete(f"/api/v1/articles/{gone}")
        assert gone not in {x["id"] for x in a.get("/api/v1/articles")["articles"]}
        assert gone not in {c[0] for c in cited(a.post("/api/v1/ask", {"question": town_question(TOWNS[0])}))}

        # kill -9 A while it writes a second, bigger batch (vectors sent, rows not committed)
        batch = harbours(120)
        import threading
        threading.Thread(target=lambda: _post_quietly(a, batch), daemon=True).start()
        vectors = vector_collection(pg_url, chroma.url)
        before = vectors.count()
        deadline = time.monotonic() + 300
        while pending_count(pg_url) == 0 or vectors.count() == before:  # the batch's vectors landed
            assert time.monotonic() < deadline and a.proc.poll() is None, "A never reached its write"
            time.sleep(0.005)
        a.kill9()
        state = shared_state(pg_url, chroma.url)
        assert state["pending"], "the kill should land while A's batch is being written"
        assert half_there(state) == []  # every stored article whole; stray vectors only of pending ids
        left = stray_vectors(state)

        # B keeps answering, the same as before
        assert cited(b.post("/api/v1/ask", {"question": question})) == cited(from_b)

        # A starts again and repairs: no marks, no vectors without an article
        a.start()
        state = shared_state(pg_url, chroma.url)
        assert state["pending"] == [] and half_there(state) == []
        assert stray_vectors(state) == 0 and set(state["vectors"]) == set(state["sentences"])
        assert len(state["sentences"]) == 3 + (0 if left else len(batch))  # killed before or after its commit

        # the batch again, through A: every harbour once, and B answers from it
        a.post("/api/v1/articles", {"records": batch})
        state = shared_state(pg_url, chroma.url)
        assert len(state["sentences"]) == 3 + len(batch) and half_there(state) == []
        reply = b.post("/api/v1/ask", {"question": "How many ships did Port 77 handle in March?"})
        assert "1008 ships" in reply["citations"][0]["sentence"]
    finally:
        a.stop()
        b.stop()


def _post_quietly(replica: Replica, batch: list[dict]) -> None:
    try:
        replica.post("/api/v1/articles", {"records": batch})
    except OSError:
        pass  # the replica is killed mid-request: that is the point


def test_two_ingest_processes_on_overlapping_inputs_store_each_article_once(pg_url, chroma, tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("\n".join(json.dumps(r) for r in harbours(30)))
    second.write_text("\n".join(json.dumps(r) for r in harbours(30, offset=15)))  # 15 in common
    env = Replica("x", pg_url, chroma.url, tmp_path / "x" / "data").env
    procs = [subprocess.Popen([QA, "ingest", str(f), "--json"], env={**env, "QA_DATA_DIR": str(tmp_path / d)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f, d in ((first, "p1"), (second, "p2"))]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    for out, _ in outs:  # each process reports all 30 of its articles (stored by it or the other)
        assert len(json.loads(out)["articles"]) == 30
    state = shared_state(pg_url, chroma.url)
    assert len(state["sentences"]) == 45 and set(state["sentences"].values()) == {5}
    assert half_there(state) == [] and state["pending"] == []
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as c:  # the BM25 statistics counted each sentence once
        assert c.execute("select n from lexical_stats").fetchone()[0] == 45 * 5
        assert c.execute("select count(*) from (select lx, count(*) as n from sentences, "
                         "unnest(tsvector_to_array(tsv)) lx group by lx) t full join lexemes l "
                         "on l.lexeme = t.lx where coalesce(t.n, 0) != coalesce(l.df, 0)").fetchone()[0] == 0
