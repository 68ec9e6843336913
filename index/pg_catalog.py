"""The PostgreSQL catalog: what ``index.catalog`` keeps in SQLite, shared by any number of replicas.

psycopg 3 with a connection pool; every read goes to the database, so what one replica commits
the others see at their next query (nothing is cached per process). Writers serialise on a
PostgreSQL advisory lock instead of a file lock, so processes on different machines do too, and
a writer that dies releases it with its connection. An article, its sentences, URLs and lexical
rows commit in one transaction, as in SQLite.

The lexical index is BM25 computed in SQL, the same formula as SQLite FTS5's ``bm25()``
(k1 = 1.2, b = 0.75, IDF log((N - n + 0.5) / (n + 0.5)) floored at 1e-6), over
``to_tsvector('english')`` lexemes with a GIN index to find the candidates. Its statistics (how
many sentences, their total length, each lexeme's document frequency) are kept in tables
updated in the same transaction as the sentences, so a query reads them instead of counting.

The schema is one list of migrations (``MIGRATIONS``); ``meta.schema`` holds how many have run.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
import zlib
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from index import dates
from index.catalog import _Listed, _like, _profile  # shared with SQLite, not duplicated
from index.catalogs import LOCK_WAIT
from index.sentences import sentence_key
from index.sites import host, is_url, site_key
from index.stories import Grouping, Profile
from index.types import Article, Scope, Sentence, Story, UnavailableError
from index.upgrade import refuse_newer

TS_CONFIG = "english"  # Snowball English stems and stopwords, as close as PostgreSQL has to FTS5 porter
K1, B = 1.2, 0.75
RESCORE = 200  # sentences whose exact BM25 is computed, of those ranked first with terms counted once
LOCK_SPACE = 0x5141  # first key of our advisory locks ("QA"), so other apps' locks never collide
_WORD = re.compile(r"\w+", re.UNICODE)  # FTS5's unicode61 counts tokens like this: BM25's length

# Each entry moves the schema one version up; never edit one that has shipped, add another.
MIGRATIONS = [
    """
    create table meta(key text primary key, value text);
    create table articles(
      id text primary key, title text not null, text text not null, source text not null,
      url text, published text, added double precision not null, site text, author text,
      day int, site_key text, seq bigserial);
    create index articles_source on articles(source);
    create index articles_day on articles(day);
    create index articles_site on articles(site_key);
    create table sentences(
      id bigserial primary key, article_id text not null references articles(id) on delete cascade,
      idx int not null, start_char int not null, end_char int not null, paragraph int not null,
      key text, len int not null, tsv tsvector not null, unique(article_id, idx));
    create index sentences_tsv on sentences using gin(tsv);
    create index sentences_by_key on sentences(key);
    create table lexemes(lexeme text primary key, df int not null);
    create table lexical_stats(one int primary key check (one = 1), n bigint not null,
      total_len bigint not null);
    insert into lexical_stats values (1, 0, 0);
    create table pending(article_id text primary key);
    create table article_urls(url text primary key, article_id text not null, host text,
      seq bigserial);
    create index article_urls_article on article_urls(article_id);
    create index article_urls_host on article_urls(host);
    create table feeds(url text primary key, title text, etag text, last_modified text,
      checked double precision);
    -- vectors written by this version carry the filter fields already
    insert into meta values ('vector_fields', '1');
    """,
    # stories (index.stories): one row per article; lead = float32 bytes of its lead vector
    """
    create table article_stories(article_id text primary key, story_id text not null, day int,
      lead bytea, names text not null default '', pinned boolean not null default false);
    create index article_stories_story on article_stories(story_id);
    create index article_stories_day on article_stories(day);
    """,
]


def describe(url: str) -> str:
    """host:port/dbname of a connection URL, without user or password (for messages)."""
    try:
        d = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "QA_DATABASE_URL"
    return f"postgresql://{d.get('host', 'localhost')}:{d.get('port', 5432)}/{d.get('dbname', '')}"


class PostgresCatalog:
    def __init__(self, url: str, pool_size: int = 10, migrate: bool = False) -> None:
        self.where = describe(url)
        self._found = 0
        self._local = threading.local()  # the connection of this thread's open transaction
        try:
            conninfo = psycopg.conninfo.make_conninfo(url, connect_timeout=10,
                                                      application_name="qa-news")
        except psycopg.ProgrammingError as e:
            raise UnavailableError(f"QA_DATABASE_URL is not a valid PostgreSQL URL ({e}); fix it.") from None
        try:  # one direct try first: a wrong password or a stopped server fails at once, with its reason
            psycopg.connect(conninfo).close()
        except psycopg.Error as e:
            reason = str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__
            raise UnavailableError(f"cannot open the PostgreSQL catalog at {self.where} ({reason}); "
                                   "start it, fix QA_DATABASE_URL (user, password, database), or unset "
                                   "it for the SQLite catalog in the data folder.") from None
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=max(2, pool_size), open=False,
                                   kwargs={"autocommit": True}, timeout=30, configure=_configure,
                                   name="qa-catalog", check=ConnectionPool.check_connection)
        try:
            self.pool.open(wait=True, timeout=15)
        except PoolTimeout:
            self.pool.close()
            raise UnavailableError(f"cannot open the PostgreSQL catalog at {self.where} (no connection "
                                   "in 15 s); start it, or unset QA_DATABASE_URL for the SQLite "
                                   "catalog in the data folder.") from None
        try:
            self._prepare(migrate)
        except BaseException:
            self.pool.close()
            raise

    def _prepare(self, migrate: bool) -> None:
        have, known = self.schema_version()
        self._found = have  # what `qa db upgrade` reports as "before", even if opening created it
        refuse_newer(self.where, (have, known))
        if have == 0:  # a new, empty database: create the schema (another replica may race us)
            self.upgrade()
        elif have < known and not migrate:
            raise UnavailableError(f"the catalog at {self.where} has schema version {have}; this "
                                   f"qa-news needs {known}: run `qa db upgrade` once, then start it.")

    # --- connections, transactions, locks ---
    @contextmanager
    def _conn(self):
        """This thread's transaction connection if one is open, else a pooled autocommit one.
        Connection failures become one line that says what to do."""
        conn = getattr(self._local, "tx", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as e:
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise UnavailableError(f"the PostgreSQL catalog at {self.where} is not answering "
                                   f"({first}); start it again, then retry.") from None

    def _all(self, sql: str, args=()) -> list[tuple]:
        with self._conn() as c:
            return c.execute(sql, args).fetchall()

    def _one(self, sql: str, args=()):
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _run(self, sql: str, args=()) -> int:
        with self._conn() as c:
            return c.execute(sql, args).rowcount

    @contextmanager
    def tx(self):
        """A write transaction: ``with catalog.tx(): ...`` commits, or rolls back on error."""
        if getattr(self._local, "tx", None) is not None:
            yield  # nested: the outer transaction commits
            return
        with self._conn() as conn:
            with conn.transaction():
                self._local.tx = conn
                try:
                    yield
                finally:
                    self._local.tx = None

    @contextmanager
    def lock(self, name: str = "write", wait: float | None = LOCK_WAIT):
        """A session advisory lock on a connection of its own, held for the block; PostgreSQL
        releases it if this process dies, so no crash leaves the catalog locked."""
        key = zlib.crc32(name.encode()) - 2**31  # advisory keys are signed 32-bit integers
        with self._conn() as conn:
            deadline = None if wait is None else time.monotonic() + wait
            while not conn.execute("select pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, key)).fetchone()[0]:
                if deadline is not None and time.monotonic() > deadline:
                    raise UnavailableError(f"the catalog at {self.where} is busy: another process is "
                                           "ingesting; try again when it finishes.")
                time.sleep(0.2)
            try:
                yield
            finally:
                conn.execute("select pg_advisory_unlock(%s, %s)", (LOCK_SPACE, key))

    def close(self) -> None:
        self.pool.close()

    # --- schema ---
    def schema_version(self) -> tuple[int, int]:
        if self._one("select to_regclass('meta')")[0] is None:
            return 0, len(MIGRATIONS)
        row = self._one("select value from meta where key = 'schema'")
        return (int(row[0]) if row else 0), len(MIGRATIONS)

    def upgrade(self) -> tuple[int, int]:
        """Run the migrations this database has not had, each in its transaction, holding a lock
        so that replicas starting together migrate once."""
        with self.lock("schema", wait=None):
            before, known = self.schema_version()
            refuse_newer(self.where, (before, known))
            for version in range(before + 1, known + 1):
                with self.tx(), self._conn() as c:
                    c.execute(MIGRATIONS[version - 1])
                    c.execute("insert into meta values ('schema', %s) on conflict (key) do update "
                              "set value = excluded.value", (str(version),))
            self._found = min(self._found, before)
            return self._found, known

    # --- meta ---
    def get_meta(self, key: str) -> str | None:
        row = self._one("select value from meta where key = %s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("insert into meta values (%s, %s) on conflict (key) do update set value = excluded.value",
                  (key, value))

    def index_id(self) -> str:
        """A random id born with the catalog; names its vectors in Chroma (the first replica to
        ask sets it, every other one reads the same)."""
        self._run("insert into meta values ('index_id', %s) on conflict do nothing", (uuid.uuid4().hex[:12],))
        return self.get_meta("index_id")

    # --- articles ---
    def has(self, article_id: str) -> bool:
        return self._one("select 1 from articles where id = %s", (article_id,)) is not None

    def ids_for_source(self, source: str) -> list[str]:
        return [r[0] for r in self._all("select id from articles where source = %s", (source,))]

    def count(self) -> int:
        return self._one("select count(*) from articles")[0]

    def get(self, article_id: str) -> Article | None:
        with self._conn() as c, c.transaction():  # one snapshot: the article and its sentences
            row = c.execute("select id, title, text, source, url, published, site, author "
                            "from articles where id = %s", (article_id,)).fetchone()
            if not row:
                return None
            sents = tuple(Sentence(article_id, i, s, e, row[2][s:e], p) for i, s, e, p in c.execute(
                "select idx, start_char, end_char, paragraph from sentences where article_id = %s "
                "order by idx", (article_id,)))
            urls = self.urls(article_id)
        return Article(*row, urls=urls, sentences=sents)

    def metadata(self, article_ids: list[str]) -> dict[str, tuple]:
        """id -> (published, site, author, url) without loading texts."""
        return {r[0]: r[1:] for r in self._all(
            "select id, published, site, author, url from articles where id = any(%s)", (list(article_ids),))}

    def list(self, search: str = "", limit: int | None = None, ids: list[str] | None = None
             ) -> list[Article]:
        """As ``SQLiteCatalog.list``: dated articles newest first, then undated ones."""
        sql = ("select a.id, a.title, '', a.source, a.url, a.published, a.site, a.author, "
               "(select count(*) from sentences s where s.article_id = a.id), length(a.text) "
               "from articles a")
        args: list = []
        if search.strip():
            like = _like(search)
            sql += (" where lower(a.title) like %s or lower(coalesce(a.site, '')) like %s "
                    "or lower(coalesce(a.site_key, '')) like %s")
            args += [like, like, like]
        elif ids is not None:
            sql += " where a.id = any(%s)"
            args.append(list(ids))
        sql += " order by coalesce(substr(a.published, 1, 19), '') desc, a.added desc, a.seq desc"
        if limit:
            sql += " limit %s"
            args.append(limit)
        return [_Listed(*r[:8], n_sentences=r[8], n_chars=r[9]) for r in self._all(sql, args)]

    def sites(self) -> list[tuple[str, str, int]]:
        return self._all("select site_key, coalesce(max(site), site_key), count(*) from articles "
                         "where site_key is not null group by site_key order by count(*) desc, site_key")

    def sentence_counts(self) -> dict[str, int]:
        return dict(self._all("select article_id, count(*) from sentences group by article_id"))

    def lexical_count(self) -> int:
        """Sentences the BM25 statistics count (equal to the sentences stored, unless damaged)."""
        return self._one("select n from lexical_stats")[0]

    # --- URLs, duplicates, feeds, pending ---
    def urls(self, article_id: str) -> tuple[str, ...]:
        return tuple(r[0] for r in self._all(
            "select url from article_urls where article_id = %s order by seq", (article_id,)))

    def id_for_url(self, url: str) -> str | None:
        row = self._one("select article_id from article_urls where url = %s", (url,))
        return row[0] if row else None

    def add_urls(self, article_id: str, urls: list[str]) -> None:
        rows = [(u, article_id, host(u)) for u in dict.fromkeys(urls) if u]
        if rows:
            with self._conn() as c, c.cursor() as cur:
                cur.executemany("insert into article_urls(url, article_id, host) values (%s, %s, %s) "
                                "on conflict (url) do update set article_id = excluded.article_id, "
                                "host = excluded.host", rows)

    def near_duplicate(self, keys: list[str], source: str, share: float) -> str | None:
        """As ``SQLiteCatalog.near_duplicate``, in one query."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return None
        rows = self._all(
            "select s.article_id, count(distinct s.key) as n, "
            "(select count(distinct key) from sentences t where t.article_id = s.article_id) "
            "from sentences s join articles a on a.id = s.article_id "
            "where s.key = any(%s) and a.source != %s group by s.article_id order by n desc limit 3",
            (keys, source))
        for aid, n, theirs in rows:
            if n < share * len(keys):
                break
            if n >= share * max(len(keys), theirs):
                return aid
        return None

    def feed_state(self, url: str) -> tuple[str | None, str | None]:
        row = self._one("select etag, last_modified from feeds where url = %s", (url,))
        return (row[0], row[1]) if row else (None, None)

    def save_feed(self, url: str, title: str, etag: str | None, last_modified: str | None) -> None:
        self._run("insert into feeds values (%s, %s, %s, %s, %s) on conflict (url) do update set "
                  "title = excluded.title, etag = excluded.etag, last_modified = excluded.last_modified, "
                  "checked = excluded.checked", (url, title, etag, last_modified, time.time()))

    def add_pending(self, ids: list[str]) -> None:
        self._run("insert into pending select unnest(%s::text[]) on conflict do nothing", (list(ids),))

    def pending(self) -> list[str]:
        return [r[0] for r in self._all("select article_id from pending")]

    def clear_pending(self, ids: list[str]) -> None:
        self._run("delete from pending where article_id = any(%s)", (list(ids),))

    # --- writing ---
    def commit_articles(self, articles: list[Article], replaced: list[str],
                        grouping: tuple[list[Profile], Grouping] | None = None) -> None:
        """Insert articles (+ sentences + lexical rows + URLs + their stories) and delete replaced
        ones, atomically. An article already stored (by a writer not holding the lock) is left
        as it is."""
        now = time.time()
        with self.tx(), self._conn() as c:
            for old in replaced:
                self._delete(c, old)
            if grouping is not None:
                self._save_stories(c, *grouping)
            new = []
            for a in articles:
                added = c.execute(
                    "insert into articles(id, title, text, source, url, published, added, site, author, "
                    "day, site_key) values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) on conflict (id) do nothing",
                    (a.id, a.title, a.text, a.source, a.url, a.published, now, a.site, a.author,
                     dates.day_number(a.published), site_key(a.url, a.site))).rowcount
                if not added:
                    continue
                new.append(a.id)
                rows = []
                for s in a.sentences:
                    indexed = f"{a.title}\n{s.text}" if s.index == 0 else s.text  # as FTS5 indexes it
                    rows.append((a.id, s.index, s.start, s.end, s.paragraph, sentence_key(s.text),
                                 len(_WORD.findall(indexed)), indexed))
                with c.cursor() as cur:
                    cur.executemany(
                        "insert into sentences(article_id, idx, start_char, end_char, paragraph, key, len, "
                        f"tsv) values (%s,%s,%s,%s,%s,%s,%s, to_tsvector('{TS_CONFIG}', %s))", rows)
                self.add_urls(a.id, [*(u for u in (a.url, a.source) if is_url(u)), *a.urls])
            if new:
                self._count_lexemes(c, new, +1)

    def delete(self, article_id: str) -> bool:
        with self.tx(), self._conn() as c:
            return self._delete(c, article_id)

    def _delete(self, c, article_id: str) -> bool:
        self._count_lexemes(c, [article_id], -1)
        c.execute("delete from article_urls where article_id = %s", (article_id,))
        c.execute("delete from article_stories where article_id = %s", (article_id,))
        return c.execute("delete from articles where id = %s", (article_id,)).rowcount > 0  # cascades

    # --- stories (the only methods that touch article_stories; as in index.catalog) ---
    def story_profiles(self, first_day: int, last_day: int) -> list[Profile]:
        return [_profile(r) for r in self._all(
            "select article_id, day, lead, names, story_id, pinned from article_stories "
            "where day between %s and %s", (first_day, last_day))]

    def story_members(self, story_id: str) -> list[Profile]:
        return [_profile(r) for r in self._all(
            "select article_id, day, lead, names, story_id, pinned from article_stories "
            "where story_id = %s", (story_id,))]

    @staticmethod
    def _save_stories(c, profiles: list[Profile], grouping: Grouping) -> None:
        for old, into in grouping.merged.items():
            c.execute("update article_stories set story_id = %s where story_id = %s", (into, old))
        rows = [(p.article_id, grouping.assigned[p.article_id], p.day,
                 p.lead.astype("float32").tobytes() if p.day is not None else None,
                 " ".join(sorted(p.names)), bool(p.pinned)) for p in profiles]
        if rows:
            with c.cursor() as cur:
                cur.executemany(
                    "insert into article_stories(article_id, story_id, day, lead, names, pinned) "
                    "values (%s,%s,%s,%s,%s,%s) on conflict (article_id) do update set "
                    "story_id = excluded.story_id, day = excluded.day, lead = excluded.lead, "
                    "names = excluded.names, pinned = excluded.pinned", rows)

    def save_stories(self, profiles: list[Profile], grouping: Grouping) -> None:
        with self.tx(), self._conn() as c:
            self._save_stories(c, profiles, grouping)

    def place_articles(self, moves: dict[str, str], pinned: bool) -> None:
        with self.tx(), self._conn() as c, c.cursor() as cur:
            cur.executemany("update article_stories set story_id = %s, pinned = %s where article_id = %s",
                            [(sid, pinned, aid) for aid, sid in moves.items()])

    def stories_of(self, article_ids: list[str]) -> dict[str, str]:
        return dict(self._all("select article_id, story_id from article_stories where article_id = any(%s)",
                              (list(article_ids),)))

    def stories(self, search: str = "", limit: int | None = None, story_ids: list[str] | None = None
                ) -> list[Story]:
        sql = ("select st.story_id, count(*), min(a.published), max(a.published), "
               "(select a2.title from article_stories s2 join articles a2 on a2.id = s2.article_id "
               " where s2.story_id = st.story_id order by a2.published, a2.seq limit 1) "
               "from article_stories st join articles a on a.id = st.article_id")
        args: list = []
        if story_ids is not None:
            sql += " where st.story_id = any(%s)"
            args.append(list(story_ids))
        sql += " group by st.story_id"
        if search.strip():
            sql += " having bool_or(lower(a.title) like %s or lower(coalesce(a.site, '')) like %s)"
            args += [_like(search)] * 2
        sql += " order by max(a.published) desc nulls last, st.story_id"
        if limit:
            sql += " limit %s"
            args.append(limit)
        return [Story(sid, title, n, first, last) for sid, n, first, last, title in self._all(sql, args)]

    def story_articles(self, story_id: str) -> list[tuple[str, str, str | None, str | None]]:
        return self._all("select a.id, a.title, a.published, a.site from article_stories s join articles a "
                         "on a.id = s.article_id where s.story_id = %s order by a.published, a.seq",
                         (story_id,))

    def unstoried(self) -> list[tuple[str, str | None]]:
        return self._all("select id, published from articles a where not exists "
                         "(select 1 from article_stories s where s.article_id = a.id)")

    @staticmethod
    def _count_lexemes(c, article_ids: list[str], sign: int) -> None:
        """Add (or take away) these articles' sentences to the BM25 statistics."""
        c.execute(
            "insert into lexemes(lexeme, df) select lx, %s * count(*) from sentences s, "
            "unnest(tsvector_to_array(s.tsv)) lx where s.article_id = any(%s) group by lx "
            "on conflict (lexeme) do update set df = lexemes.df + excluded.df", (sign, article_ids))
        c.execute("update lexical_stats set n = n + %s * (select count(*) from sentences where "
                  "article_id = any(%s)), total_len = total_len + %s * (select coalesce(sum(len), 0) "
                  "from sentences where article_id = any(%s))", (sign, article_ids, sign, article_ids))

    # --- scopes and search ---
    def resolve_sites(self, terms: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """As ``SQLiteCatalog.resolve_sites``."""
        keys: dict[str, None] = {}
        hosts: dict[str, None] = {}
        for term in terms:
            t = host(term) if "." in term or "/" in term else term.strip().lower()
            if not t:
                continue
            for (k,) in self._all("select distinct site_key from articles where site_key = %s or "
                                  "site_key like %s or lower(site) = %s", (t, "%." + t, term.strip().lower())):
                keys.setdefault(k, None)
            for (h,) in self._all("select distinct host from article_urls where host = %s or host like %s",
                                  (t, "%." + t)):
                hosts.setdefault(h, None)
        extra: list[str] = []
        if hosts:
            extra = [r[0] for r in self._all(
                "select distinct u.article_id from article_urls u join articles a on a.id = u.article_id "
                "where u.host = any(%s) and not (coalesce(a.site_key, '') = any(%s))",
                (list(hosts), list(keys) or [""]))]
        return tuple(keys), tuple(extra)

    def count_in(self, scope: Scope) -> int:
        where, args = _scope_sql(scope)
        return self._one(f"select count(*) from articles a where true{where}", args)[0]

    def bm25(self, terms: list[str], k: int, scope: Scope | None = None
             ) -> list[tuple[str, int, float]]:
        """Top-k (article_id, sentence index, score) by BM25 within ``scope``; higher is better.

        Two steps, so that only a few sentences' lexemes are unpacked: every matching sentence is
        ranked by BM25 with each term counted once (a test of the sentence's tsvector per term,
        fast in the GIN-found rows), then the best ``RESCORE`` get their exact BM25 (a term
        repeated in a sentence counts again, as in FTS5). Unpacking every match instead took
        27 ms per question at 10,000 articles (p95 112 ms).
        """
        if not terms:
            return []
        with self._conn() as c:
            stats = c.execute(
                "select l.lexeme, greatest(ln((st.n - l.df + 0.5) / (l.df + 0.5)), 1e-6), "
                "st.total_len::float8 / greatest(st.n, 1) from lexemes l, lexical_stats st "
                f"where l.lexeme = any(tsvector_to_array(to_tsvector('{TS_CONFIG}', %s))) and l.df > 0",
                (" ".join(terms),)).fetchall()
            if not stats:
                return []
            lexemes, idfs = [r[0] for r in stats], [float(r[1]) for r in stats]
            avgdl = stats[0][2]
            queries = ["'" + x.replace("\\", "\\\\").replace("'", "''") + "'" for x in lexemes]
            where, args = _scope_sql(scope) if scope is not None and not scope.is_empty() else ("", [])
            join = " join articles a on a.id = s.article_id" if where else ""
            once = " + ".join("case when s.tsv @@ %s::tsquery then %s else 0 end" for _ in queries)
            norm = f"{K1 + 1} / (u.tf + {K1} * ({1 - B} + {B} * m.len / %s))"
            sql = (
                f"with m as (select s.article_id, s.idx, s.len, s.tsv, ({once}) / "
                f"(1 + {K1} * ({1 - B} + {B} * s.len / %s)) as pre from sentences s{join} "
                f"where s.tsv @@ %s::tsquery{where} order by pre desc limit {RESCORE}) "
                f"select m.article_id, m.idx, sum(q.idf * u.tf * {norm}) as score from m "
                "cross join lateral (select lexeme, coalesce(array_length(positions, 1), 1) as tf "
                "from unnest(m.tsv)) u join unnest(%s::text[], %s::float8[]) q(lexeme, idf) "
                "on q.lexeme = u.lexeme group by m.article_id, m.idx "
                "order by score desc, m.article_id, m.idx limit %s")
            params = [v for pair in zip(queries, idfs) for v in pair] + [avgdl, " | ".join(queries), *args,
                                                                         avgdl, lexemes, idfs, k]
            return [(a, i, float(x)) for a, i, x in c.execute(sql, params).fetchall()]

    def sentences_around(self, keys: list[tuple[str, int]], window: int = 1
                         ) -> dict[tuple[str, int], tuple[str, int, int, int, str]]:
        """Sentences for keys and their neighbours: key -> (title, start, end, paragraph, text)."""
        want = sorted({(a, i + d) for a, i in keys for d in range(-window, window + 1) if i + d >= 0})
        if not want:
            return {}
        ids, idxs = zip(*want)
        rows = self._all(
            "select s.article_id, s.idx, a.title, s.start_char, s.end_char, s.paragraph, "
            "substr(a.text, s.start_char + 1, s.end_char - s.start_char) from sentences s "
            "join articles a on a.id = s.article_id "
            "join unnest(%s::text[], %s::int[]) w(aid, i) on s.article_id = w.aid and s.idx = w.i",
            (list(ids), list(idxs)))
        return {(r[0], r[1]): r[2:] for r in rows}

    def doc_freq(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """(number of sentences, sentences containing each term's stem) for IDF weights."""
        n = self._one("select n from lexical_stats")[0]
        if not terms:
            return n, {}
        rows = self._all(
            f"select t, coalesce((select max(l.df) from lexemes l where l.lexeme = any("
            f"tsvector_to_array(to_tsvector('{TS_CONFIG}', t)))), 0) from unnest(%s::text[]) t",
            (list(terms),))
        return n, dict(rows)


def _configure(conn) -> None:
    """No JIT: the BM25 query's estimated cost crosses PostgreSQL's JIT threshold, and compiling
    it took ~180 ms of a query that runs in ~5 ms (measured on 5,900 sentences)."""
    conn.execute("set jit = off")


def _scope_sql(scope: Scope) -> tuple[str, list]:
    """SQL conditions (each starting " and ") on articles ``a`` for a scope, and their values."""
    sql, args = "", []
    if scope.article_ids is not None:
        sql += " and a.id = any(%s)"
        args.append(list(scope.article_ids))
    if scope.since is not None:
        sql += " and a.day >= %s"
        args.append(dates.day_number(scope.since))
    if scope.until is not None:
        sql += " and a.day <= %s"
        args.append(dates.day_number(scope.until))
    if scope.sites is not None:
        sql += " and (a.site_key = any(%s) or a.id = any(%s))"
        args += [list(scope.sites), list(scope.extra_ids)]
    return sql, args

