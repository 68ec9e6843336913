"""The catalog interface, and the choice between its two implementations.

The catalog holds articles, their sentences (with character offsets), the URLs each story was
ingested from, feed state, pending vector ids, a few settings (``meta``) and the lexical (BM25)
index. ``index.catalog`` keeps it in one SQLite file in the data folder (the zero-config
default); ``index.pg_catalog`` keeps it in PostgreSQL (``QA_DATABASE_URL``), where any number of
replicas share it. Code above ``index`` sees only this interface: ``open_catalog`` decides.

Each implementation keeps its schema in one place with a version number in ``meta``: a catalog
older than the code is brought up to date (``qa db upgrade``; SQLite also when opened, as it
always was), one newer than the code is refused with one line. To add a table (or a column),
add it to both: in SQLite to ``_SCHEMA`` in ``index/catalog.py`` (``create ... if not exists``
runs at every open) or, for a column of an existing table, to ``index/upgrade.py`` with
``SCHEMA_VERSION`` raised; in PostgreSQL as a new entry at the end of ``MIGRATIONS`` in
``index/pg_catalog.py``. Then the method that reads it goes into ``Catalog`` below and both classes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from index.settings import Settings
from index.types import Article, Scope, UnavailableError

LOCK_WAIT = 30.0  # seconds a writer waits for another one before giving up with a clear error


class Catalog(Protocol):
    """What the store, the retriever and the pages read and write. Every method sees what other
    processes committed (no per-process copies of the data), so replicas agree at once."""

    # meta: small settings born with the catalog (index id, embedding model, schema version)
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def index_id(self) -> str: ...

    # articles
    def has(self, article_id: str) -> bool: ...
    def ids_for_source(self, source: str) -> list[str]: ...
    def count(self) -> int: ...
    def get(self, article_id: str) -> Article | None: ...
    def metadata(self, article_ids: list[str]) -> dict[str, tuple]: ...
    def list(self, search: str = "", limit: int | None = None) -> list[Article]: ...
    def sites(self) -> list[tuple[str, str, int]]: ...
    def sentence_counts(self) -> dict[str, int]: ...
    def lexical_count(self) -> int: ...

    # URLs, duplicates, feeds, pending vector ids
    def urls(self, article_id: str) -> tuple[str, ...]: ...
    def id_for_url(self, url: str) -> str | None: ...
    def add_urls(self, article_id: str, urls: list[str]) -> None: ...
    def near_duplicate(self, keys: list[str], source: str, share: float) -> str | None: ...
    def feed_state(self, url: str) -> tuple[str | None, str | None]: ...
    def save_feed(self, url: str, title: str, etag: str | None, last_modified: str | None) -> None: ...
    def add_pending(self, ids: list[str]) -> None: ...
    def pending(self) -> list[str]: ...
    def clear_pending(self, ids: list[str]) -> None: ...

    # writing: one transaction per call; callers hold ``lock("write")``
    def commit_articles(self, articles: list[Article], replaced: list[str]) -> None: ...
    def delete(self, article_id: str) -> bool: ...

    def lock(self, name: str = "write", wait: float | None = LOCK_WAIT) -> AbstractContextManager:
        """Hold the named lock across processes and machines sharing this catalog (``wait``
        seconds at most, ``None`` = as long as it takes; then ``UnavailableError``). A process
        that dies releases its locks."""

    # scopes and search
    def resolve_sites(self, terms: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]: ...
    def count_in(self, scope: Scope) -> int: ...
    def bm25(self, terms: list[str], k: int, scope: Scope | None = None) -> list[tuple[str, int, float]]: ...
    def sentences_around(self, keys: list[tuple[str, int]], window: int = 1
                         ) -> dict[tuple[str, int], tuple[str, int, int, int, str]]: ...
    def doc_freq(self, terms: list[str]) -> tuple[int, dict[str, int]]: ...

    # schema
    where: str  # where it is, for messages (a path, or host/port/database without a password)

    def schema_version(self) -> tuple[int, int]:
        """(version of this catalog, newest version this code knows)."""

    def upgrade(self) -> tuple[int, int]:
        """Migrate to the newest schema; returns (version before, version after)."""

    def close(self) -> None: ...


def open_catalog(settings: Settings, data_dir: Path | None = None, *, migrate: bool = False) -> Catalog:
    """PostgreSQL when ``settings.database_url`` is set, else the SQLite file in the data folder.

    A new, empty catalog gets the newest schema. An older PostgreSQL catalog is refused unless
    ``migrate`` (``qa db upgrade``): replicas of an older version may still be reading it, so
    the operator chooses when. An older SQLite file is upgraded in place (one process owns it).
    """
    if settings.database_url:
        try:
            from index.pg_catalog import PostgresCatalog  # psycopg is an extra: imported only here
        except ImportError:
            raise UnavailableError("QA_DATABASE_URL needs the PostgreSQL driver: pip install "
                                   "'qa-news[postgres]' (or bash scripts/setup.sh postgres).") from None
        return PostgresCatalog(settings.database_url, pool_size=settings.concurrency + 2,
                               migrate=migrate)
    from index.catalog import SQLiteCatalog
    return SQLiteCatalog(Path(data_dir or settings.data_dir) / "catalog.sqlite3")
