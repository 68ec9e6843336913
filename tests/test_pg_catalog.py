"""The PostgreSQL catalog's own promises: BM25 scores equal to SQLite FTS5's, a versioned
schema (older: `qa db upgrade`; newer: refused, as SQLite refuses it), and one-line errors that
never show a password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEEDS
from index.catalog import query_terms
from index.settings import Settings
from index.types import QAError, UnavailableError
from qa import api

QA = str(Path(sys.executable).with_name("qa"))
QUESTIONS = ["How many prisoners were exchanged?", "Who called Zelensky?",
             "How long did the call last?", "What did Trump say about energy infrastructure?"]


def qa(*args: str, url: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([QA, "--database-url", url, "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, timeout=300, env={"QA_SEED_DIR": "", "PATH": ""})


def test_bm25_in_sql_scores_as_fts5_does(pg_url, tmp_path):
    lite = Settings(data_dir=tmp_path / "lite", seed_dir=SEEDS)
    pg = Settings(data_dir=tmp_path / "pg", seed_dir=SEEDS, database_url=pg_url)
    a, b = api.open_store(lite).catalog, api.open_store(pg).catalog
    for q in QUESTIONS:
        want, got = a.bm25(query_terms(q), 10), b.bm25(query_terms(q), 10)
        assert [(i, round(s, 4)) for _, i, s in got] == [(i, round(s, 4)) for _, i, s in want], q
        assert a.doc_freq(query_terms(q)) == b.doc_freq(query_terms(q))
    api.close_store(pg)


def test_newer_schema_is_refused_in_one_line(pg_url, tmp_path):
    import psycopg
    from index.pg_catalog import MIGRATIONS
    known = len(MIGRATIONS)
    assert qa("db", "upgrade", url=pg_url, tmp_path=tmp_path).stdout.strip().endswith(
        f"schema version {known} (was 0)")
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("update meta set value = '99' where key = 'schema'")
    r = qa("list", url=pg_url, tmp_path=tmp_path)
    where = pg_url.replace("qa@", "")
    assert r.returncode == 1 and r.stderr.strip() == (
        f"qa: error: the catalog at {where} has schema version 99, newer than this qa-news knows ({known}); "
        "upgrade qa-news (pip install -U) to use it.")


def test_older_schema_waits_for_qa_db_upgrade(pg_url, tmp_path, monkeypatch):
    from index import pg_catalog
    s = Settings(data_dir=tmp_path / "data", seed_dir=SEEDS, database_url=pg_url)
    api.ask(QUESTIONS[0], settings=s)
    api.close_store(s)
    # this code now knows one migration more than the database has had
    monkeypatch.setattr(pg_catalog, "MIGRATIONS", [*pg_catalog.MIGRATIONS,
                                                   "alter table feeds add column note text"])
    have = len(pg_catalog.MIGRATIONS) - 1
    with pytest.raises(UnavailableError, match=rf"schema version {have}; this qa-news needs {have + 1}: "
                                               r"run `qa db upgrade` once, then start it\.$"):
        api.open_store(s)
    assert api.upgrade_catalog(s)[1:] == (have, have + 1)
    assert api.upgrade_catalog(s)[1:] == (have + 1, have + 1)  # twice is harmless
    assert len(api.list_articles(settings=s)) == 1  # the seed article kept, and still answered from
    assert api.ask(QUESTIONS[0], settings=s).citations
    api.close_store(s)


def test_unreachable_or_wrong_database_is_one_line_without_the_password(pg_cluster, tmp_path):
    closed = pg_cluster.url("nosuchdb").replace("qa@", "qa:s3cret@")
    r = qa("list", url=closed, tmp_path=tmp_path)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot open the PostgreSQL catalog at postgresql://127.0.0.1:" in r.stderr
    assert 'database "nosuchdb" does not exist' in r.stderr and "s3cret" not in r.stderr
    r = qa("list", url="mysql://db/qa", tmp_path=tmp_path)
    assert r.returncode == 1 and "QA_DATABASE_URL must start with postgresql://" in r.stderr
    with pytest.raises(QAError, match="QA_DATABASE_URL must start"):
        Settings.from_env({"QA_DATABASE_URL": "sqlite:///x"})


def test_newer_sqlite_catalog_is_refused_too(tmp_path):
    s = Settings(data_dir=tmp_path / "data", seed_dir=None)
    store = api.open_store(s, seed=False)
    store.catalog.set_meta("schema", "70")
    api.close_store(s)
    from index.upgrade import SCHEMA_VERSION
    with pytest.raises(UnavailableError, match=rf"has schema version 70, newer than this qa-news knows \({SCHEMA_VERSION}\)"):
        api.open_store(s, seed=False)

