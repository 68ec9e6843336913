"""Shared fixtures: real components (embedding model, Chroma on disk) in temporary folders."""

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


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Fresh data folder, seeded from the repo's seeds/ on first ask."""
    return Settings(data_dir=tmp_path / "data", seed_dir=SEEDS)


@pytest.fixture
def empty_settings(tmp_path) -> Settings:
    """Fresh data folder with seeding disabled."""
    return Settings(data_dir=tmp_path / "data", seed_dir=None)


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
def web_settings(tmp_path) -> Settings:
    """Fresh data folder, no seeding, allowed to fetch from loopback, where tests serve pages."""
    return Settings(data_dir=tmp_path / "data", seed_dir=None, allow_private_urls=True, url_timeout=5)
