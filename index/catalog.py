"""The SQLite catalog (the default): articles, their sentences and a BM25 (SQLite FTS5) index,
in one file in the data folder. ``index.catalogs`` has the interface it implements and
``index.pg_catalog`` the PostgreSQL one that replicas share.

SQLite is the source of truth: an article exists once its transaction commits, and its
sentences and BM25 rows commit with it, so no reader ever sees half an article. The BM25
index lives on disk and is updated incrementally; nothing is rebuilt at start-up.
Vectors in Chroma are written *before* the article commits; ids written there but not yet
committed are kept in ``pending`` so a crash leaves nothing a later run cannot clean up.

Besides texts, the catalog keeps every URL a story was ingested from (``article_urls``: how a
feed poll knows an entry, and how a syndicated copy finds the story it repeats), a key per
sentence (``sentences.key``: near-duplicate stories share most of them), each feed's HTTP
validators (``feeds``), and per article the publication day as a number and a site key, which
the date and site filters read. Stories (``article_stories``: one row per dated article, its
story id, day, lead vector, names and whether a person placed it) group the articles of one
developing event; only the methods of the "stories" section below read or write that table,
and the grouping itself is ``index.stories``'s, not SQL. Catalogs made before these existed are
upgraded in place when opened (``index.upgrade``), without re-reading any source.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from index import dates
from index.catalogs import LOCK_WAIT
from index.sentences import sentence_key
from index.sites import host, is_url, site_key
from index.stories import Grouping, Profile
from index.types import Article, Scope, Sentence, Story, UnavailableError
from index.upgrade import SCHEMA_VERSION, refuse_newer, upgrade_catalog

_SCHEMA = """
create table if not exists meta(key text primary key, value text);
create table if not exists articles(
  id text primary key, title text not null, text text not null, source text not null,
  url text, published text, added real not null);
create index if not exists articles_source on articles(source);
create table if not exists sentences(
  rowid integer primary key, article_id text not null, idx int not null,
  start int not null, end int not null, paragraph int not null);
create unique index if not exists sentences_key on sentences(article_id, idx);
create virtual table if not exists sentence_fts using fts5(
  text, tokenize = 'porter unicode61 remove_diacritics 2');
create table if not exists pending(article_id text primary key);
create table if not exists article_urls(url text primary key, article_id text not null, host text);
create index if not exists article_urls_article on article_urls(article_id);
create table if not exists feeds(url text primary key, title text, etag text, last_modified text,
  checked real);
create table if not exists article_stories(article_id text primary key, story_id text not null,
  day int, lead blob, names text not null default '', pinned int not null default 0);
create index if not exists article_stories_story on article_stories(story_id);
create index if not exists article_stories_day on article_stories(day);
"""

STOPWORDS = frozenset("""a about above after again against all am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves also did does many
much""".split())
_TOKEN = re.compile(r"\w+", re.UNICODE)


def query_terms(text: str) -> list[str]:
    """Lowercased content words of a question, in order, without duplicates."""
    seen: dict[str, None] = {}
    for t in _TOKEN.findall(text.lower()):
        if t not in STOPWORDS and len(t) > 1 or t.isdigit():
            seen.setdefault(t, None)
    return list(seen)


class SQLiteCatalog:
    """One SQLite connection per thread: a reader thread must never see another thread's
    uncommitted transaction, which a shared connection would show it (half an article)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db.execute("pragma journal_mode=wal")
            self.db.executescript(_SCHEMA)
            refuse_newer(self.where, self.schema_version())
            if self.get_meta("schema") != SCHEMA_VERSION:
                upgrade_catalog(self)
        except sqlite3.OperationalError as e:
            if not os.access(path.parent, os.W_OK) or "readonly" in str(e):
                raise UnavailableError(f"the data folder {path.parent} is read-only; make it writable or set "
                                       "QA_DATA_DIR to another folder.") from None
            raise UnavailableError(f"cannot open the catalog at {path} ({e}); check that the data folder "
                                   "is writable or set QA_DATA_DIR.") from None

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                   isolation_level=None)
            conn.execute("pragma synchronous=normal")
            self._local.conn = conn
        return conn

    def schema_version(self) -> tuple[int, int]:
        return int(self.get_meta("schema") or 0), int(SCHEMA_VERSION)

    def upgrade(self) -> tuple[int, int]:
        """Opening upgraded it already (one process owns a SQLite file): nothing is left to do."""
        return self.schema_version()[0], self.schema_version()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def lock(self, name: str = "write", wait: float | None = LOCK_WAIT):
        """A file lock in the data folder (``flock``: the kernel releases it if the process dies)."""
        lock_name = "write.lock" if name == "write" else \
            f"lock-{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock"
        folder = self.path.parent
        try:
            fd = os.open(folder / lock_name, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UnavailableError(f"cannot write to the data folder {folder} ({e.strerror}); "
                                   "make it writable or set QA_DATA_DIR.") from None
        try:
            deadline = None if wait is None else time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise UnavailableError(f"the data folder {folder} is busy: another process is "
                                               "ingesting; try again when it finishes.") from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)

    # --- meta ---
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("insert or replace into meta values(?, ?)", (key, value))

    def index_id(self) -> str:
        """A random id born with the catalog; names this data folder's vectors in Chroma."""
        self.db.execute("insert or ignore into meta values('index_id', ?)", (uuid.uuid4().hex[:12],))
        return self.get_meta("index_id")

    # --- articles ---
    def has(self, article_id: str) -> bool:
        return self.db.execute("select 1 from articles where id=?", (article_id,)).fetchone() is not None

    def ids_for_source(self, source: str) -> list[str]:
        return [r[0] for r in self.db.execute("select id from articles where source=?", (source,))]

    def count(self) -> int:
        return self.db.execute("select count(*) from articles").fetchone()[0]

    def get(self, article_id: str) -> Article | None:
        row = self.db.execute("select id, title, text, source, url, published, site, author "
                              "from articles where id=?", (article_id,)).fetchone()
        if not row:
            return None
        sents = tuple(Sentence(article_id, i, s, e, row[2][s:e], p) for i, s, e, p in self.db.execute(
            "select idx, start, end, paragraph from sentences where article_id=? order by idx",
            (article_id,)))
        return Article(*row, urls=self.urls(article_id), sentences=sents)

    def metadata(self, article_ids: list[str]) -> dict[str, tuple]:
        """id -> (published, site, author, url) without loading texts."""
        q = (f"select id, published, site, author, url from articles "
             f"where id in ({','.join('?' * len(article_ids))})")
        return {r[0]: r[1:] for r in self.db.execute(q, article_ids)}

    def list(self, search: str = "", limit: int | None = None, ids: list[str] | None = None
             ) -> list[Article]:
        """Dated articles newest first, then undated ones, most recently added first; optionally
        only those whose title or site contains ``search``, or only those of ``ids``."""
        sql = ("select a.id, a.title, '', a.source, a.url, a.published, a.site, a.author, "
               "(select count(*) from sentences s where s.article_id=a.id), length(a.text) "
               "from articles a")
        args: list = []
        if search.strip():
            like = _like(search)
            sql += (" where lower(a.title) like ? escape '\\' or lower(coalesce(a.site, '')) like ? "
                    "escape '\\' or lower(coalesce(a.site_key, '')) like ? escape '\\'")
            args += [like, like, like]
        elif ids is not None:
            sql += f" where a.id in ({','.join('?' * len(ids))})"
            args += ids
        sql += " order by coalesce(substr(a.published, 1, 19), '') desc, a.added desc, a.rowid desc"
        if limit:
            sql += " limit ?"
            args.append(limit)
        # list views need counts, not texts: sentences are placeholders of the right number
        return [_Listed(*r[:8], n_sentences=r[8], n_chars=r[9]) for r in self.db.execute(sql, args)]

    def sentence_counts(self) -> dict[str, int]:
        """article id -> sentences stored (what a consistency check compares with vectors)."""
        return dict(self.db.execute("select article_id, count(*) from sentences group by article_id"))

    def lexical_count(self) -> int:
        """Sentences the BM25 index holds (equal to the sentences stored, unless damaged)."""
        return self.db.execute("select count(*) from sentence_fts").fetchone()[0]

    def sites(self) -> list[tuple[str, str, int]]:
        """(site key, site name, articles) of every site stored, the biggest first."""
        return self.db.execute("select site_key, coalesce(max(site), site_key), count(*) from articles "
                               "where site_key is not null group by site_key "
                               "order by count(*) desc, site_key").fetchall()

    # --- URLs, duplicates, feeds ---
    def urls(self, article_id: str) -> tuple[str, ...]:
        return tuple(r[0] for r in self.db.execute(
            "select url from article_urls where article_id=? order by rowid", (article_id,)))

    def id_for_url(self, url: str) -> str | None:
        row = self.db.execute("select article_id from article_urls where url=?", (url,)).fetchone()
        return row[0] if row else None

    def add_urls(self, article_id: str, urls: list[str]) -> None:
        """Record further addresses of a stored story (a syndicated copy, a feed link)."""
        self.db.executemany("insert or replace into article_urls values(?, ?, ?)",
                            [(u, article_id, host(u)) for u in dict.fromkeys(urls) if u])

    def near_duplicate(self, keys: list[str], source: str, share: float) -> str | None:
        """A stored article (not from ``source``) sharing at least ``share`` of the larger one's
        distinct sentence keys with ``keys``, the one sharing most; None if there is none."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return None
        shared: dict[str, int] = {}
        for i in range(0, len(keys), 500):  # SQLite's variable limit
            part = keys[i:i + 500]
            for aid, n in self.db.execute(
                    f"select s.article_id, count(distinct s.key) from sentences s join articles a "
                    f"on a.id = s.article_id where s.key in ({','.join('?' * len(part))}) "
                    f"and a.source != ? group by s.article_id", [*part, source]):
                shared[aid] = shared.get(aid, 0) + n
        for aid, n in sorted(shared.items(), key=lambda x: -x[1])[:3]:
            if n < share * len(keys):
                break
            theirs = self.db.execute("select count(distinct key) from sentences where article_id=?",
                                     (aid,)).fetchone()[0]
            if n >= share * max(len(keys), theirs):
                return aid
        return None

    def feed_state(self, url: str) -> tuple[str | None, str | None]:
        row = self.db.execute("select etag, last_modified from feeds where url=?", (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_feed(self, url: str, title: str, etag: str | None, last_modified: str | None) -> None:
        self.db.execute("insert or replace into feeds values(?, ?, ?, ?, ?)",
                        (url, title, etag, last_modified, time.time()))

    def add_pending(self, ids: list[str]) -> None:
        self.db.executemany("insert or ignore into pending values(?)", [(i,) for i in ids])

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.execute("select article_id from pending")]

    def clear_pending(self, ids: list[str]) -> None:
        self.db.executemany("delete from pending where article_id=?", [(i,) for i in ids])

    def commit_articles(self, articles: list[Article], replaced: list[str],
                        grouping: tuple[list[Profile], Grouping] | None = None) -> None:
        """Insert articles (+ sentences + BM25 rows + URLs + their stories) and delete replaced
        ones, atomically."""
        now = time.time()
        with self.tx():
            for old in replaced:
                self._delete(old)
            if grouping is not None:
                self._save_stories(*grouping)
            for a in articles:
                self.db.execute(
                    "insert into articles(id, title, text, source, url, published, added, site, "
                    "author, day, site_key) values(?,?,?,?,?,?,?,?,?,?,?)",
                    (a.id, a.title, a.text, a.source, a.url, a.published, now, a.site, a.author,
                     dates.day_number(a.published), site_key(a.url, a.site)))
                for s in a.sentences:
                    cur = self.db.execute("insert into sentences(article_id, idx, start, end, paragraph, key) "
                                          "values(?,?,?,?,?,?)", (a.id, s.index, s.start, s.end,
                                                                  s.paragraph, sentence_key(s.text)))
                    self.db.execute("insert into sentence_fts(rowid, text) values(?, ?)",
                                    (cur.lastrowid, f"{a.title}\n{s.text}" if s.index == 0 else s.text))
                self.add_urls(a.id, [*(u for u in (a.url, a.source) if is_url(u)), *a.urls])

    def delete(self, article_id: str) -> bool:
        with self.tx():
            return self._delete(article_id)

    def _delete(self, article_id: str) -> bool:
        self.db.execute("delete from sentence_fts where rowid in "
                        "(select rowid from sentences where article_id=?)", (article_id,))
        self.db.execute("delete from sentences where article_id=?", (article_id,))
        self.db.execute("delete from article_urls where article_id=?", (article_id,))
        self.db.execute("delete from article_stories where article_id=?", (article_id,))
        return self.db.execute("delete from articles where id=?", (article_id,)).rowcount > 0

    def tx(self):
        """A write transaction: ``with catalog.tx(): ...`` commits, or rolls back on error."""
        return _Transaction(self.db)

    # --- stories (the only methods that touch article_stories) ---
    def story_profiles(self, first_day: int, last_day: int) -> list[Profile]:
        """Grouping profiles of the articles published between two day numbers (inclusive)."""
        return [_profile(r) for r in self.db.execute(
            "select article_id, day, lead, names, story_id, pinned from article_stories "
            "where day between ? and ?", (first_day, last_day))]

    def story_members(self, story_id: str) -> list[Profile]:
        return [_profile(r) for r in self.db.execute(
            "select article_id, day, lead, names, story_id, pinned from article_stories "
            "where story_id=?", (story_id,))]

    def _save_stories(self, profiles: list[Profile], grouping: Grouping) -> None:
        """Rows for new articles and merged stories (inside the caller's transaction)."""
        for old, into in grouping.merged.items():
            self.db.execute("update article_stories set story_id=? where story_id=?", (into, old))
        self.db.executemany(
            "insert or replace into article_stories(article_id, story_id, day, lead, names, pinned) "
            "values(?,?,?,?,?,?)",
            [(p.article_id, grouping.assigned[p.article_id], p.day,
              p.lead.astype("float32").tobytes() if p.day is not None else None,
              " ".join(sorted(p.names)), int(p.pinned)) for p in profiles])

    def save_stories(self, profiles: list[Profile], grouping: Grouping) -> None:
        with self.tx():
            self._save_stories(profiles, grouping)

    def place_articles(self, moves: dict[str, str], pinned: bool) -> None:
        """Put articles into stories (article id -> story id); ``pinned`` marks a person's choice."""
        with self.tx():
            self.db.executemany("update article_stories set story_id=?, pinned=? where article_id=?",
                                [(sid, int(pinned), aid) for aid, sid in moves.items()])

    def stories_of(self, article_ids: list[str]) -> dict[str, str]:
        """article id -> story id, for those of the ids that belong to a story."""
        out = {}
        for i in range(0, len(article_ids), 500):
            part = article_ids[i:i + 500]
            out.update(self.db.execute(f"select article_id, story_id from article_stories where "
                                       f"article_id in ({','.join('?' * len(part))})", part).fetchall())
        return out

    def stories(self, search: str = "", limit: int | None = None, story_ids: list[str] | None = None
                ) -> list[Story]:
        """Stories newest first (by their latest article): ids, first article's title, size and
        first and last publication dates; only those with an article whose title contains
        ``search``, or those of ``story_ids``, when given."""
        sql = ("select st.story_id, count(*), min(a.published), max(a.published), "
               "(select a2.title from article_stories s2 join articles a2 on a2.id = s2.article_id "
               " where s2.story_id = st.story_id order by a2.published, a2.rowid limit 1) "
               "from article_stories st join articles a on a.id = st.article_id")
        args: list = []
        if story_ids is not None:
            sql += f" where st.story_id in ({','.join('?' * len(story_ids))})"
            args += story_ids
        sql += " group by st.story_id"
        if search.strip():
            sql += (" having sum(lower(a.title) like ? escape '\\' or "
                    "lower(coalesce(a.site, '')) like ? escape '\\') > 0")
            args += [_like(search)] * 2
        sql += " order by max(a.published) desc, st.story_id"
        if limit:
            sql += " limit ?"
            args.append(limit)
        return [Story(sid, title, n, first, last) for sid, n, first, last, title in self.db.execute(sql, args)]

    def story_articles(self, story_id: str) -> list[tuple[str, str, str | None, str | None]]:
        """(id, title, published, site) of a story's articles, oldest first."""
        return self.db.execute(
            "select a.id, a.title, a.published, a.site from article_stories s join articles a "
            "on a.id = s.article_id where s.story_id=? order by a.published, a.rowid",
            (story_id,)).fetchall()

    def unstoried(self) -> list[tuple[str, str | None]]:
        """(id, published) of articles without a story row (stored before stories existed)."""
        return self.db.execute("select id, published from articles a where not exists "
                               "(select 1 from article_stories s where s.article_id = a.id)").fetchall()

    # --- scopes: filters by article, date and site ---
    def resolve_sites(self, terms: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Stored site keys matching what a user typed ("reuters.com" also finds
        "uk.reuters.com"; "Reuters" finds the site named so), and the ids of articles that match
        only through a syndicated copy's URL."""
        keys: dict[str, None] = {}
        hosts: dict[str, None] = {}
        for term in terms:
            t = host(term) if "." in term or "/" in term else term.strip().lower()
            if not t:
                continue
            for (k,) in self.db.execute(
                    "select distinct site_key from articles where site_key = ? or site_key like ? "
                    "or lower(site) = ?", (t, "%." + t, term.strip().lower())):
                keys.setdefault(k, None)
            for (h,) in self.db.execute("select distinct host from article_urls where host = ? "
                                        "or host like ?", (t, "%." + t)):
                hosts.setdefault(h, None)
        extra: list[str] = []
        if hosts:
            q = ("select distinct u.article_id from article_urls u join articles a on a.id = u.article_id "
                 f"where u.host in ({','.join('?' * len(hosts))}) and coalesce(a.site_key, '') not in "
                 f"({','.join('?' * max(1, len(keys)))})")
            extra = [r[0] for r in self.db.execute(q, [*hosts, *(keys or [""])])]
        return tuple(keys), tuple(extra)

    def count_in(self, scope: Scope) -> int:
        where, args = _scope_sql(scope)
        return self.db.execute(f"select count(*) from articles a where 1=1{where}", args).fetchone()[0]

    # --- search ---
    def bm25(self, terms: list[str], k: int, scope: Scope | None = None
             ) -> list[tuple[str, int, float]]:
        """Top-k (article_id, sentence index, score) by BM25 within ``scope``; higher is better."""
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        sql = ("select s.article_id, s.idx, -bm25(sentence_fts) as score from sentence_fts "
               "join sentences s on s.rowid = sentence_fts.rowid")
        args: list = []
        if scope is not None and not scope.is_empty():
            where, args = _scope_sql(scope)
            sql += f" join articles a on a.id = s.article_id where sentence_fts match ?{where}"
        else:
            sql += " where sentence_fts match ?"
        args = [match, *args]
        sql += " order by bm25(sentence_fts) limit ?"
        try:
            return self.db.execute(sql, args + [k]).fetchall()
        except sqlite3.OperationalError:
            return []  # a query FTS5 cannot parse finds nothing lexically; dense search still runs

    def sentences_around(self, keys: list[tuple[str, int]], window: int = 1
                         ) -> dict[tuple[str, int], tuple[str, int, int, int, str]]:
        """Sentences for keys and their neighbours: key -> (title, start, end, paragraph, text)."""
        want = {(a, i + d) for a, i in keys for d in range(-window, window + 1) if i + d >= 0}
        out = {}
        by_article: dict[str, list[int]] = {}
        for a, i in want:
            by_article.setdefault(a, []).append(i)
        for a, idxs in by_article.items():
            q = (f"select s.idx, s.start, s.end, s.paragraph, substr(a.text, s.start + 1, s.end - s.start), "
                 f"a.title from sentences s join articles a on a.id = s.article_id "
                 f"where s.article_id=? and s.idx in ({','.join('?' * len(idxs))})")
            for idx, st, en, para, text, title in self.db.execute(q, [a, *idxs]):
                out[(a, idx)] = (title, st, en, para, text)
        return out

    def doc_freq(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """(number of sentences, sentences containing each term) for IDF weights."""
        n = self.db.execute("select count(*) from sentences").fetchone()[0]
        df = {}
        for t in terms:
            try:
                df[t] = self.db.execute("select count(*) from sentence_fts where sentence_fts match ?",
                                        ('"' + t.replace('"', "") + '"',)).fetchone()[0]
            except sqlite3.OperationalError:
                df[t] = 0
        return n, df


def _like(search: str) -> str:
    """A LIKE pattern (escape '\\') for text containing ``search``, case-insensitive."""
    return "%" + search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _profile(row) -> Profile:
    aid, day, lead, names, sid, pinned = row
    return Profile(aid, day, np.frombuffer(lead, dtype=np.float32) if lead else np.zeros(1, np.float32),
                   frozenset(names.split()), sid, bool(pinned))


def _scope_sql(scope: Scope) -> tuple[str, list]:
    """SQL conditions (each starting " and ") on articles ``a`` for a scope, and their values."""
    sql, args = "", []
    if scope.article_ids is not None:
        sql += f" and a.id in ({','.join('?' * len(scope.article_ids))})"
        args += list(scope.article_ids)
    if scope.since is not None:
        sql += " and a.day >= ?"
        args.append(dates.day_number(scope.since))
    if scope.until is not None:
        sql += " and a.day <= ?"
        args.append(dates.day_number(scope.until))
    if scope.sites is not None:
        keys, extra = list(scope.sites), list(scope.extra_ids)
        sql += (f" and (a.site_key in ({','.join('?' * len(keys))})"
                f" or a.id in ({','.join('?' * len(extra))}))")
        args += keys + extra
    return sql, args


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self):
        self.db.execute("begin immediate")

    def __exit__(self, exc_type, *_):
        self.db.execute("rollback" if exc_type else "commit")
        return False


class _Listed(Article):
    """An Article row for listings: text and sentences are not loaded."""

    def __init__(self, *args, n_sentences: int, n_chars: int):
        super().__init__(*args)
        object.__setattr__(self, "_n", (n_sentences, n_chars))

    def to_dict(self, with_text: bool = False) -> dict:
        d = super().to_dict(with_text=False)
        d["sentences"], d["chars"] = self._n
        return d
