"""The catalog: articles, their sentences and a BM25 (SQLite FTS5) index, in one SQLite file.

SQLite is the source of truth: an article exists once its transaction commits, and its
sentences and BM25 rows commit with it, so no reader ever sees half an article. The BM25
index lives on disk and is updated incrementally; nothing is rebuilt at start-up.
Vectors in Chroma are written *before* the article commits; ids written there but not yet
committed are kept in ``pending`` so a crash leaves nothing a later run cannot clean up.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from index.types import Article, Sentence, UnavailableError

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


class Catalog:
    """One SQLite connection per thread: a reader thread must never see another thread's
    uncommitted transaction, which a shared connection would show it (half an article)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db.execute("pragma journal_mode=wal")
            self.db.executescript(_SCHEMA)
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
        row = self.db.execute("select id, title, text, source, url, published from articles "
                              "where id=?", (article_id,)).fetchone()
        if not row:
            return None
        sents = tuple(Sentence(article_id, i, s, e, row[2][s:e], p) for i, s, e, p in self.db.execute(
            "select idx, start, end, paragraph from sentences where article_id=? order by idx",
            (article_id,)))
        return Article(*row, sentences=sents)

    def list(self) -> list[Article]:
        rows = self.db.execute(
            "select a.id, a.title, '', a.source, a.url, a.published, count(s.rowid), length(a.text) "
            "from articles a left join sentences s on s.article_id=a.id group by a.id "
            "order by a.added, a.rowid").fetchall()
        # list views need counts, not texts: sentences are placeholders of the right number
        return [_Listed(*r[:6], n_sentences=r[6], n_chars=r[7]) for r in rows]

    def add_pending(self, ids: list[str]) -> None:
        self.db.executemany("insert or ignore into pending values(?)", [(i,) for i in ids])

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.execute("select article_id from pending")]

    def clear_pending(self, ids: list[str]) -> None:
        self.db.executemany("delete from pending where article_id=?", [(i,) for i in ids])

    def commit_articles(self, articles: list[Article], replaced: list[str]) -> None:
        """Insert articles (+ sentences + BM25 rows) and delete replaced ones, atomically."""
        now = time.time()
        with self._tx():
            for old in replaced:
                self._delete(old)
            for a in articles:
                self.db.execute("insert into articles values(?,?,?,?,?,?,?)",
                                (a.id, a.title, a.text, a.source, a.url, a.published, now))
                for s in a.sentences:
                    cur = self.db.execute("insert into sentences(article_id, idx, start, end, paragraph) "
                                          "values(?,?,?,?,?)", (a.id, s.index, s.start, s.end, s.paragraph))
                    self.db.execute("insert into sentence_fts(rowid, text) values(?, ?)",
                                    (cur.lastrowid, f"{a.title}\n{s.text}" if s.index == 0 else s.text))

    def delete(self, article_id: str) -> bool:
        with self._tx():
            return self._delete(article_id)

    def _delete(self, article_id: str) -> bool:
        self.db.execute("delete from sentence_fts where rowid in "
                        "(select rowid from sentences where article_id=?)", (article_id,))
        self.db.execute("delete from sentences where article_id=?", (article_id,))
        return self.db.execute("delete from articles where id=?", (article_id,)).rowcount > 0

    def _tx(self):
        return _Transaction(self.db)

    # --- search ---
    def bm25(self, terms: list[str], k: int, article_ids: list[str] | None = None
             ) -> list[tuple[str, int, float]]:
        """Top-k (article_id, sentence index, score) by BM25; higher score is better."""
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        sql = ("select s.article_id, s.idx, -bm25(sentence_fts) as score from sentence_fts "
               "join sentences s on s.rowid = sentence_fts.rowid where sentence_fts match ?")
        args: list = [match]
        if article_ids is not None:
            sql += f" and s.article_id in ({','.join('?' * len(article_ids))})"
            args += list(article_ids)
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
