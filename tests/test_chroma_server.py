"""A real Chroma server (``chroma run`` on loopback) instead of the embedded store.

Same articles in both; the answers must cite the same sentences. Stopping the server gives one
line saying what to do; starting it again is enough to recover.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa import api
from index.settings import Settings
from index.types import QAError

from conftest import SEED_FILE
from services import CHROMA, ChromaServer

QUESTIONS = ["How many prisoners were exchanged?", "How many passengers did the ferry carry?",
             "Who repaired the bridge?"]
STORY = ("Harbour news\nThe ferry carried 140 passengers on Sunday. The old bridge was repaired by "
         "a crew from Leith. It reopened to traffic on Monday morning.\n")

pytestmark = pytest.mark.skipif(not CHROMA.exists() and not shutil.which("chroma"),
                                reason="the chroma CLI comes with chromadb")


@pytest.fixture
def server(tmp_path):
    srv = ChromaServer(tmp_path / "chroma-server")
    srv.start()
    yield srv
    srv.stop()


def _cited(settings: Settings, question: str) -> list[tuple[str, int, int]]:
    return [(c.article_id, c.start, c.end) for c in api.ask(question, settings=settings).citations]


def test_server_answers_like_the_embedded_store_and_recovers(server, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    remote = Settings(data_dir=tmp_path / "remote", seed_dir=None, chroma_url=server.url)
    local = Settings(data_dir=tmp_path / "local", seed_dir=None)
    try:
        for s in (remote, local):
            api.ingest([str(SEED_FILE), str(story)], settings=s)
        assert api.open_store(remote).vectors.count() == api.open_store(local).vectors.count() > 0
        assert not (tmp_path / "remote" / "chroma").exists()  # vectors live on the server only
        for q in QUESTIONS:
            assert _cited(remote, q) == _cited(local, q), q
        assert "140" in api.ask(QUESTIONS[1], settings=remote).citations[0].sentence

        # remove works against the server: the article's vectors go too
        story = next(a for a in api.list_articles(settings=remote) if a.title == "Harbour news")
        story_id, n_sentences = story.id, story.to_dict()["sentences"]
        before = api.open_store(remote).vectors.count()
        api.remove(story_id, settings=remote)
        api.remove(story_id, settings=local)
        assert api.open_store(remote).vectors.count() == before - n_sentences
        for q in QUESTIONS:
            assert _cited(remote, q) == _cited(local, q), q

        # the server goes away mid-session: one line that says what to do
        server.stop()
        with pytest.raises(QAError) as err:
            api.ask(QUESTIONS[0], settings=remote)
        msg = str(err.value)
        assert "\n" not in msg and server.url in msg and "start it again" in msg

        # a new process pointed at the dead server fails the same way, through the CLI
        cli = subprocess.run([str(Path(sys.executable).with_name("qa")), "--data-dir", str(tmp_path / "remote"),
                              "--chroma-url", server.url, "ask", QUESTIONS[0]],
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1
        assert cli.stderr.count("\n") == 1 and "qa: error:" in cli.stderr and server.url in cli.stderr

        # started again (same folder, same port): the same session answers as before
        server.start()
        assert _cited(remote, QUESTIONS[0]) == _cited(local, QUESTIONS[0])
    finally:
        api.close_store(remote)
        api.close_store(local)


def test_two_data_folders_share_one_server_without_mixing(server, tmp_path):
    a = Settings(data_dir=tmp_path / "a", seed_dir=None, chroma_url=server.url)
    b = Settings(data_dir=tmp_path / "b", seed_dir=None, chroma_url=server.url)
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    same = api.ingest([str(SEED_FILE)], settings=a)[0]
    assert api.ingest([str(SEED_FILE), str(story)], settings=b)[0].id == same.id  # same content
    store_b = api.open_store(b, seed=False)
    n_b = sum(store_b.catalog.sentence_counts().values())
    assert store_b.vectors.count() == n_b  # only folder b's vectors are in its collection
    api.remove(same.id, settings=a)  # must not touch folder b's copy of the article
    assert store_b.vectors.count() == n_b
    ans = api.ask("How many prisoners were exchanged?", settings=b)
    assert "175" in ans.citations[0].sentence
    for s in (a, b):
        api.close_store(s)
