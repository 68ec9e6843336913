"""Kill -9 in the middle of ``qa ingest FOLDER``, restart: the index is consistent, and
ingesting the folder again completes it.

Issue 6, "Crashes". The ingest is a real ``qa ingest`` process (with batches of 3 articles so
a kill lands between and inside batches); it is killed with SIGKILL at chosen moments, observed
through the catalog from outside. Each check runs in a fresh process, as a restarted app would:
every listed article has all its sentences, BM25 rows and vectors; ``qa list`` agrees with
what ``ask`` can cite; leftover vectors of the killed batch are never cited and are cleaned up
by the next process to start (or, if a writer is busy then, by the next writer).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.both_catalogs  # the in-process faults; the kill -9 run reads SQLite
REPO = Path(__file__).resolve().parent.parent
N_ARTICLES = 12
BATCH = 3
TOWNS = ["Aldmere", "Brackwater", "Cinderford", "Dunholm", "Eastbrook", "Fallowby", "Glenmarsh",
         "Harrowgate", "Ivybridge", "Jarrowfield", "Kestrel Bay", "Lowmoor", "Millhaven",
         "Northwick", "Oakhurst", "Pennington", "Queensferry", "Ravensworth"]

INGEST = ("import sys, index.store as s; s.DOC_BATCH = int(sys.argv[1]); from qa.cli import main; "
          "sys.exit(main(sys.argv[2:]))")
VERIFY = r"""
import contextlib, io, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from qa import api, cli
from index.settings import Settings
from reliability_helpers import consistency_problems, index_state
s = Settings(data_dir=Path(sys.argv[1]), seed_dir=None)
store = api.open_store(s, seed=False)
state = index_state(store)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = cli.main(["--data-dir", sys.argv[1], "list", "--json"])
cited, answered = set(), 0
for town in json.loads(sys.argv[3]):
    a = api.ask(f"How many bridges does {town} have?", settings=s)
    for c in a.citations:
        cited.add(c.article_id)
        assert store.get_article(c.article_id).text[c.start:c.end] == c.sentence
    answered += not a.abstained
print(json.dumps({"state": state, "problems": consistency_problems(store), "list_code": code,
                  "listed": [a["id"] for a in json.loads(out.getvalue())], "cited": sorted(cited),
                  "answered": answered}))
"""


def article(i: int, town: str) -> str:
    return (f"{town} council votes on new bridges\n\n"
            f"The town of {town} now has {i * 7 + 3} bridges after a vote on Monday.\n"
            f"The council of {town} approved a budget of {i + 2} million euros.\n"
            f"Work in {town} starts in spring and ends in {2030 + i}.\n"
            f"Residents of {town} had asked for a bridge over the river for {i + 10} years.\n")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    for i, town in enumerate(TOWNS[:N_ARTICLES]):
        (folder / f"{i:02d}_{town.replace(' ', '_').lower()}.txt").write_text(article(i, town))
    return folder


def env() -> dict:
    return {**os.environ, "QA_SEED_DIR": "", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def start_ingest(data: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INGEST, str(BATCH), "--data-dir", str(data),
                             "ingest", str(folder)], cwd=REPO, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def catalog_counts(data: Path) -> tuple[int, int]:
    """(committed articles, pending marks), read from outside like any other reader."""
    db = data / "catalog.sqlite3"
    if not db.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return (c.execute("select count(*) from articles").fetchone()[0],
                    c.execute("select count(*) from pending").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0, 0


def kill_when(proc: subprocess.Popen, data: Path, condition, limit: float = 240) -> tuple[int, int]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ingest finished before the kill point: {proc.communicate()}")
        counts = catalog_counts(data)
        if condition(*counts):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return counts
        time.sleep(0.005)
    proc.kill()
    pytest.fail("kill point never reached")


def verify(data: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", VERIFY, str(data), str(REPO / "tests"),
                        json.dumps(TOWNS[:N_ARTICLES])], cwd=REPO, env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_consistent(report: dict) -> None:
    assert report["problems"] == []
    assert report["list_code"] == 0
    assert report["listed"] and sorted(report["listed"]) == report["state"]["articles"]
    assert set(report["cited"]) <= set(report["listed"]), "ask cited an article qa list does not show"
    assert report["answered"] >= len(report["listed"]) // 2


def test_kill_9_mid_folder_then_reingest(tmp_path, corpus):
    data = tmp_path / "data"

    # 1. killed inside a batch: its vectors are written (pending marks set), its rows are not
    proc = start_ingest(data, corpus)
    committed, pending = kill_when(proc, data, lambda n, p: n >= BATCH and p > 0)
    assert pending, "the kill should have left pending marks"
    first = verify(data)
    assert_consistent(first)
    assert BATCH <= len(first["listed"]) < N_ARTICLES
    # the restarted process repaired what the kill left: no marks, no vectors of unlisted articles
    assert first["state"]["pending"] == [] and set(first["state"]["vectors"]) == set(first["listed"])

    # 2. killed again after more batches committed, on top of the first crash's leftovers
    proc = start_ingest(data, corpus)
    kill_when(proc, data, lambda n, p: n >= len(first["listed"]) + BATCH)
    second = verify(data)
    assert_consistent(second)
    assert set(first["listed"]) <= set(second["listed"])
    assert len(second["listed"]) < N_ARTICLES

    # 3. run to completion: everything is there once, leftovers are gone
    proc = start_ingest(data, corpus)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(out.strip().splitlines()) == N_ARTICLES
    final = verify(data)
    assert_consistent(final)
    assert len(final["listed"]) == N_ARTICLES and final["state"]["pending"] == []
    assert set(final["state"]["vectors"]) == set(final["listed"])  # no stray vectors left
    assert final["answered"] == N_ARTICLES


# --- faults injected at the exact steps between the catalog commit and the vector clean-up -----

class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, no clean-up code after it runs."""


def _die(*_):
    raise Killed


def test_crash_after_replacing_a_changed_file(empty_settings, tmp_path, monkeypatch):
    from qa import api
    from reliability_helpers import consistency_problems, index_state
    p = tmp_path / "aldmere.txt"
    p.write_text(article(0, "Aldmere"))
    [old] = api.ingest(str(p), settings=empty_settings)
    store = api.open_store(empty_settings, seed=False)
    p.write_text(article(5, "Aldmere"))  # same file, new text: the new version replaces the old
    monkeypatch.setattr(store.vectors, "delete", _die)  # dies before the old vectors are deleted
    with pytest.raises(Killed):
        api.ingest(str(p), settings=empty_settings)
    monkeypatch.undo()
    state = index_state(store)
    [new] = state["articles"]
    assert new != old.id and old.id in state["vectors"] and old.id in state["pending"]
    a = api.ask("How many bridges does Aldmere have?", settings=empty_settings)
    assert {c.article_id for c in a.citations} == {new} and "38 bridges" in a.citations[0].sentence

    (tmp_path / "b.txt").write_text(article(1, "Brackwater"))
    api.ingest(str(tmp_path / "b.txt"), settings=empty_settings)  # the next writer cleans up
    state = index_state(store)
    assert old.id not in state["vectors"] and state["pending"] == []
    assert consistency_problems(store) == []


def test_crash_in_the_middle_of_remove(empty_settings, tmp_path, monkeypatch):
    from qa import api
    from reliability_helpers import consistency_problems, index_state
    for i, town in enumerate(TOWNS[:2]):
        (tmp_path / f"{town}.txt").write_text(article(i, town))
    gone, kept = api.ingest([str(tmp_path / f"{t}.txt") for t in TOWNS[:2]], settings=empty_settings)
    store = api.open_store(empty_settings, seed=False)
    monkeypatch.setattr(store.vectors, "delete", _die)
    with pytest.raises(Killed):
        api.remove(gone.id, settings=empty_settings)
    monkeypatch.undo()
    assert [a.id for a in api.list_articles(settings=empty_settings)] == [kept.id]
    a = api.ask("How many bridges does Aldmere have?", settings=empty_settings)
    assert gone.id not in {c.article_id for c in a.citations}
    (tmp_path / "c.txt").write_text(article(2, TOWNS[2]))
    api.ingest(str(tmp_path / "c.txt"), settings=empty_settings)  # the next writer cleans up
    state = index_state(store)
    assert gone.id not in state["vectors"] and state["pending"] == []
    assert consistency_problems(store) == []
