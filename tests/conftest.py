"""Shared fixtures: real components (embedding model, Chroma on disk) in temporary folders.

The catalog is SQLite unless a module is marked ``both_catalogs``: then its tests using the
settings fixtures below run twice, the second time on a fresh database of a throwaway
PostgreSQL cluster (one per session, started here, on loopback). Where PostgreSQL is not
installed they are skipped, except in CI (``CI`` set), where ``scripts/test.sh`` installs it
and a missing server is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from index.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))


def pytest_configure(config):
    config.addinivalue_line("markers", "both_catalogs: run the module's tests on SQLite and PostgreSQL")


def pytest_generate_tests(metafunc):
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_catalogs"):
        metafunc.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the session (see tests/services.py)."""
    from services import PostgresCluster, postgres_bin
    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; scripts/test.sh installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (bash scripts/test.sh installs it)")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (bash scripts/test.sh)")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a new, empty database."""
    return pg_cluster.new_database()


@pytest.fixture
def database_url(request) -> str:
    """"" (SQLite) unless parametrised to "postgres" (modules marked ``both_catalogs``)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return ""
    return request.getfixturevalue("pg_url")


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Fresh data folder, seeded from the repo's seeds/ on first ask."""
    return Settings(data_dir=tmp_path / "data", seed_dir=SEEDS, database_url=database_url)


@pytest.fixture
def empty_settings(tmp_path, database_url) -> Settings:
    """Fresh data folder with seeding disabled."""
    return Settings(data_dir=tmp_path / "data", seed_dir=None, database_url=database_url)


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory) -> Settings:
    """One seeded data folder shared by read-only tests (saves re-embedding the seed)."""
    s = Settings(data_dir=tmp_path_factory.mktemp("seeded") / "data", seed_dir=SEEDS)
    from qa import api
    api.open_store(s)
    return s


@pytest.fixture
def news_server():
    """A news site on 127.0.0.1 whose pages and feeds the test sets (see news_fixtures)."""
    from news_fixtures import NewsServer
    server = NewsServer()
    yield server
    server.close()


@pytest.fixture
def web_settings(tmp_path, database_url) -> Settings:
    """Fresh data folder, no seeding, allowed to fetch from loopback, where tests serve pages."""
    return Settings(data_dir=tmp_path / "data", seed_dir=None, allow_private_urls=True, url_timeout=5,
                    database_url=database_url)
