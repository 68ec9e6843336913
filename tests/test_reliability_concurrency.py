"""Many readers while a writer works, two processes on one data folder, a read-only folder.

Issue 6, "Crashes and concurrency". Readers are threads calling ``qa.ask`` in this process
(the chat server's situation; the Gradio API version belongs with the UI tests); writers are
real ``qa ingest`` processes or a thread. Nothing may fail, nothing half-written may be seen,
and a writer that cannot get the data folder says "busy" in one line.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index.sentences import split_sentences
from index.store import article_id
from qa import api
from reliability_helpers import consistency_problems, index_state

REPO = Path(__file__).resolve().parent.parent
TOWNS = ["Aldmere", "Brackwater", "Cinderford", "Dunholm", "Eastbrook", "Fallowby", "Glenmarsh",
         "Harrowgate"]
SEED_Q = "How many prisoners of war were released?"


def article(i: int, town: str) -> str:
    return (f"{town} council votes on new bridges\n\n"
            f"The town of {town} now has {i * 7 + 3} bridges after a vote on Monday.\n"
            f"The council of {town} approved a budget of {i + 2} million euros.\n"
            f"Work in {town} starts in spring and ends in {2030 + i}.\n")


def write_folder(folder: Path, towns: list[str], offset: int = 0) -> dict[str, int]:
    """Articles on disk; returns article id -> expected number of sentences."""
    folder.mkdir(parents=True)
    expected = {}
    for i, town in enumerate(towns, offset):
        text = article(i, town)
        (folder / f"{town.lower()}.txt").write_text(text)
        expected[article_id(text)] = len(split_sentences(text))
    return expected


def env(**extra) -> dict:
    return {**os.environ, "QA_SEED_DIR": "", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **extra}


def qa_cli(*args, lock_wait: float | None = None, **kw) -> subprocess.Popen:
    code = "import sys; from qa.cli import main; sys.exit(main(sys.argv[1:]))"
    if lock_wait is not None:  # the real default is 30 s; the tests should not wait that long
        code = f"import index.store as s; s.LOCK_WAIT = {lock_wait}; " + code
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


# --- 16 questions at once while an ingest runs -----------------------------------------------

def test_16_concurrent_questions_during_an_ingest(settings, tmp_path):
    store = api.open_store(settings)  # seeded: holds the prisoner-exchange article
    seed_ids = {a.id for a in store.list_articles()}
    expected = write_folder(tmp_path / "news", TOWNS)
    expected.update({a.id: len(store.get_article(a.id).sentences) for a in store.list_articles()})
    done = threading.Event()
    seen_partial: list[str] = []

    def ingest():
        try:
            api.ingest(str(tmp_path / "news"), settings=settings)
        finally:
            done.set()

    def watch():  # no reader may ever see an article with some of its sentences missing
        while not done.is_set():
            for a in api.list_articles(settings=settings):
                n = a.to_dict()["sentences"]
                if n != expected.get(a.id) or len(api.get_article(a.id, settings=settings).sentences) != n:
                    seen_partial.append(a.id)
            time.sleep(0.01)

    def question(i: int):
        town = TOWNS[i % len(TOWNS)]
        q = SEED_Q if i % 2 == 0 else f"How many bridges does {town} have?"
        a = api.ask(q, settings=settings)
        listed = {x.id for x in api.list_articles(settings=settings)}
        for c in a.citations:
            assert c.article_id in listed
            assert api.get_article(c.article_id, settings=settings).text[c.start:c.end] == c.sentence
        if q == SEED_Q:
            assert not a.abstained and "175" in a.citations[0].sentence, a.text
            assert a.citations[0].article_id in seed_ids
        elif a.citations and not a.abstained and town in a.citations[0].sentence:
            assert f"{TOWNS.index(town) * 7 + 3} bridges" in a.citations[0].sentence
        return a

    writer = threading.Thread(target=ingest)
    watcher = threading.Thread(target=watch)
    writer.start()
    watcher.start()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(question, range(32)))
    writer.join(300)
    watcher.join(30)
    assert len(answers) == 32
    assert seen_partial == []
    assert consistency_problems(store) == []
    assert set(index_state(store)["articles"]) == set(expected)
    for i, town in enumerate(TOWNS):  # after the ingest, every new article answers
        a = api.ask(f"How many bridges does {town} have?", settings=settings)
        assert f"{i * 7 + 3} bridges" in a.citations[0].sentence


# --- two processes on one data folder ------------------------------------------------------

@pytest.fixture
def data(empty_settings, tmp_path):
    write_folder(tmp_path / "first", TOWNS[:2])
    api.ingest(str(tmp_path / "first"), settings=empty_settings)
    return empty_settings


def test_ingest_while_another_process_holds_the_write_lock(data, tmp_path):
    store = api.open_store(data, seed=False)
    before = index_state(store)
    write_folder(tmp_path / "second", TOWNS[2:4], offset=2)
    with open(data.data_dir / "write.lock", "a+") as lock:  # stands for a long-running writer
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = qa_cli("--data-dir", data.data_dir, "ingest", tmp_path / "second", lock_wait=1)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1 and out == ""
        assert err.startswith("qa: error: the data folder") and "is busy" in err and "try again" in err
        assert err.count("\n") == 1, err
        assert index_state(store) == before
        proc = qa_cli("--data-dir", data.data_dir, "ingest", tmp_path / "second", lock_wait=60)
        time.sleep(1.0)
        assert proc.poll() is None  # waiting for the lock
    out, err = proc.communicate(timeout=120)  # lock released: it goes ahead
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 2
    assert consistency_problems(store) == [] and len(index_state(store)["articles"]) == 4


def test_two_ingest_processes_at_once(data, tmp_path):
    a = write_folder(tmp_path / "a", TOWNS[2:5], offset=2)
    b = write_folder(tmp_path / "b", TOWNS[5:8], offset=5)
    procs = [qa_cli("--data-dir", data.data_dir, "ingest", tmp_path / f) for f in ("a", "b")]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    store = api.open_store(data, seed=False)
    state = index_state(store)
    assert set(a) | set(b) <= set(state["articles"]) and len(state["articles"]) == 8
    assert consistency_problems(store) == []


def test_reader_process_while_a_cli_ingest_runs(data, tmp_path):
    """The chat server's situation: another process asks questions while `qa ingest` writes."""
    write_folder(tmp_path / "more", TOWNS[2:8], offset=2)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(data.data_dir)], cwd=REPO, env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready", reader.stderr.read()[-2000:]
    writer = qa_cli("--data-dir", data.data_dir, "ingest", tmp_path / "more")
    w_out, w_err = writer.communicate(timeout=300)
    reader.stdin = None
    r_out, r_err = reader.communicate(timeout=300)
    assert writer.returncode == 0, w_err
    assert reader.returncode == 0, r_err[-3000:]
    during, dense = map(int, r_out.split()[-2:])
    assert during >= 1  # questions answered while the ingest ran
    assert dense == 8 * 4  # the reader's vector store sees the other process's vectors
    store = api.open_store(data, seed=False)
    assert consistency_problems(store) == [] and len(index_state(store)["articles"]) == 8


READER = r"""
import sys, time
from pathlib import Path
from qa import api
from index.settings import Settings
s = Settings(data_dir=Path(sys.argv[1]), seed_dir=None)
api.ask("How many bridges does Aldmere have?", settings=s)
print("ready", flush=True)
during, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 120:
    a = api.ask("How many bridges does Aldmere have?", settings=s)
    assert "3 bridges" in a.citations[0].sentence, a
    listed = {x.id for x in api.list_articles(settings=s)}
    assert all(c.article_id in listed for c in a.citations)
    if len(listed) == 8:
        break
    during += 1
# an article another process added is found by this long-running process too
a = api.ask("How many bridges does Harrowgate have?", settings=s)
assert "52 bridges" in a.citations[0].sentence, a
dense = api.open_store(s).vectors.count()
print(during, dense)
"""


# --- a read-only data folder ---------------------------------------------------------------

def _without_root_powers() -> list[str] | None:
    """A command prefix under which file permissions apply, or None if there is none."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):  # root without CAP_DAC_OVERRIDE obeys permission bits
        return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    return None


def test_read_only_data_folder(data, tmp_path):
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: chmod cannot make a folder read-only here")
    store = api.open_store(data, seed=False)
    before = index_state(store)
    (tmp_path / "new.txt").write_text(article(9, "Ivybridge"))
    folder = data.data_dir
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    try:
        for p in modes:
            p.chmod(p.stat().st_mode & ~0o222)
        for args in (["ask", "How many bridges does Aldmere have?"], ["ingest", tmp_path / "new.txt"]):
            r = subprocess.run([*prefix, sys.executable, "-m", "qa", "--data-dir", folder, *map(str, args)],
                               cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
            assert r.returncode == 1, (args, r.stdout, r.stderr)
            assert r.stderr == (f"qa: error: the data folder {folder} is read-only; make it writable "
                                "or set QA_DATA_DIR to another folder.\n"), r.stderr
        r = subprocess.run([*prefix, sys.executable, "-m", "qa", "--data-dir", folder / "sub", "list"],
                           cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and r.stderr.startswith("qa: error: cannot create the data folder")
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert index_state(store) == before and consistency_problems(store) == []


def test_readers_never_see_an_uncommitted_article(empty_settings):
    """A writer thread stopped inside its transaction: other threads see nothing of it."""
    store = api.open_store(empty_settings, seed=False)
    inside, release = threading.Event(), threading.Event()

    def writer():
        with store.catalog.tx():
            store.catalog.db.execute("insert into articles(id, title, text, source, added) "
                                     "values('half', 'Half', 'x', 's', 0)")
            inside.set()
            release.wait(30)
            raise KeyboardInterrupt  # dies before the sentences: the transaction rolls back

    t = threading.Thread(target=lambda: pytest.raises(KeyboardInterrupt, writer))
    t.start()
    assert inside.wait(30)
    try:
        assert not store.catalog.has("half")
        assert [a.id for a in store.list_articles()] == []
    finally:
        release.set()
        t.join(30)
    assert store.list_articles() == []
