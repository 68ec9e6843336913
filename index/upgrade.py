"""Data folders written by earlier versions, brought up to date when opened, once.

Version 2 (news metadata) added to the catalog a publication day and a site key per article,
a key per sentence (near-duplicate stories), the table of article URLs and the feeds' state;
and to each vector in Chroma the ``day`` and ``site`` the filters compare. All of it is
computed from what the folder already holds: nothing is fetched or embedded again. Vectors
of undated articles with no URL or site need nothing: no filter should match them.

Version 3 (stories) added the table ``article_stories`` (the catalog creates it); the articles
already stored are grouped from their lead sentences' vectors, read back from Chroma.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from index import dates, stories
from index.chunks import filter_metadata, make_chunks
from index.sentences import sentence_key
from index.sites import is_url, site_key
from index.types import UnavailableError

SCHEMA_VERSION = "3"
# columns added after the first version: (table, column, type)
_ADDED = [("articles", "site", "text"), ("articles", "author", "text"), ("articles", "day", "int"),
          ("articles", "site_key", "text"), ("sentences", "key", "text")]


def refuse_newer(where: str, versions: tuple[int, int]) -> None:
    """One line, instead of misreading (or damaging) a catalog a newer version wrote."""
    have, known = versions
    if have > known:
        raise UnavailableError(f"the catalog at {where} has schema version {have}, newer than this "
                               f"qa-news knows ({known}); upgrade qa-news (pip install -U) to use it.")


def upgrade_catalog(catalog) -> None:
    """Add the columns, indexes and rows version 2 reads, in one transaction."""
    db = catalog.db
    with catalog.tx():
        if catalog.get_meta("schema") == SCHEMA_VERSION:  # another process did it meanwhile
            return
        for table, column, kind in _ADDED:
            if column not in {r[1] for r in db.execute(f"pragma table_info({table})")}:
                db.execute(f"alter table {table} add column {column} {kind}")
        db.execute("create index if not exists sentences_by_key on sentences(key)")
        db.execute("create index if not exists articles_day on articles(day)")
        db.execute("create index if not exists articles_site on articles(site_key)")
        rows = db.execute("select id, text, source, url, published, site from articles").fetchall()
        for aid, text, source, url, published, site in rows:
            iso = dates.normalise(published) if published else None  # JSON records kept it as written
            db.execute("update articles set published=?, day=?, site_key=? where id=?",
                       (iso or published, dates.day_number(iso), site_key(url, site), aid))
            db.executemany("update sentences set key=? where article_id=? and idx=?",
                           [(sentence_key(text[s:e]), aid, i) for i, s, e in db.execute(
                               "select idx, start, end from sentences where article_id=?",
                               (aid,)).fetchall()])
            catalog.add_urls(aid, [u for u in (url, source) if is_url(u) and not catalog.id_for_url(u)])
        catalog.set_meta("schema", SCHEMA_VERSION)


def upgrade_vectors(catalog, vectors) -> None:
    """Give vectors written before the filters their ``day`` and ``site`` (call it holding the
    write lock; Chroma merges the keys into each vector's metadata)."""
    if catalog.get_meta("vector_fields") == "1":
        return
    updates = []
    for aid, day, site in catalog.db.execute("select id, day, site_key from articles where day is "
                                             "not null or site_key is not null").fetchall():
        updates += [(c.id, filter_metadata(day, site)) for c in make_chunks(catalog.get(aid))]
    if updates:
        vectors.set_metadata(updates)
    catalog.set_meta("vector_fields", "1")


def upgrade_stories(catalog, vectors) -> None:
    """Group into stories the articles stored before stories existed (version 3), from the
    vectors of their lead sentences already in Chroma (call it holding the write lock)."""
    todo = catalog.unstoried()
    if todo:
        profiles = []
        for aid, published in todo:
            a = catalog.get(aid)
            lead = a.sentences[:stories.LEAD_SENTENCES]
            got = vectors.get([f"{aid}:{s.index}-{s.index}" for s in lead]) if published else {}
            rows = [got[k] for k in (f"{aid}:{s.index}-{s.index}" for s in lead) if k in got]
            profiles.append(stories.profile(replace(a, published=published if rows else None),
                                            np.array(rows, np.float32) if rows else np.zeros((1, 1), np.float32)))
        known = catalog.story_profiles(0, 99999999)
        catalog.save_stories(profiles, stories.group(profiles, known))
    catalog.set_meta("stories", "1")
