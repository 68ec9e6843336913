"""The index as one object: ingest, remove and read articles, search sentences.

Write order keeps the index consistent at every instant, whatever kills the process:
1. the ids of new articles, and of older versions they replace, are marked ``pending``;
2. the new vectors are written to Chroma;
3. articles, sentences and BM25 rows commit in one catalog transaction (SQLite or PostgreSQL),
   which also deletes older versions of the same source;
4. the older versions' vectors are deleted, then the pending marks are dropped.
A crash anywhere leaves at most vectors of pending ids that no committed article owns; the next
writer (or the next process to start) deletes them, and readers ignore them meanwhile. Readers
only see committed articles, so nothing half-ingested is ever visible (``remove`` follows the
same marks). Writers take the catalog's write lock (a lock file next to SQLite, an advisory lock
in PostgreSQL, which serialises writers on different machines too), so two processes never
write at once; the second one waits briefly, then gets a clear "busy" error.

A story is stored once: the same text again (same id), or a text sharing at least
``SAME_STORY`` of its sentences with a stored one from another source (a syndicated copy),
only adds its URLs to the stored article.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index import dates, stories
from index.catalogs import LOCK_WAIT, open_catalog
from index.chunks import chunk_metadata, embed_text, make_chunks
from index.embeddings import PackagedEmbedding
from index.feed_entries import EntryProgress, entry_documents
from index.loading import iter_folder, load, record
from index.sentences import sentence_key, split_sentences
from index.settings import Settings
from index.sites import host, is_url
from index.types import (Article, Document, Feed, Limits, NotFoundError, QAError, Scope, Story,
                         UnavailableError)
from index.upgrade import upgrade_stories, upgrade_vectors
from index.vectors import VectorIndex, open_client

Progress = Callable[[int, int], None]  # (done, total) sentences embedded
DOC_BATCH = 200  # documents embedded and committed together (bounds memory on big ingests)
SAME_STORY = 0.9  # share of sentences two texts must have in common to be one story


def _unknown(article_id: str) -> NotFoundError:
    return NotFoundError(f"no article with id {article_id!r}; `qa list` shows the ids.")


def article_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Store:
    def __init__(self, settings: Settings, embedder: PackagedEmbedding | None = None) -> None:
        self.settings = settings
        self.dir = Path(settings.data_dir)
        if not (settings.database_url and settings.chroma_url):  # else a replica keeps nothing here
            self._check_data_dir()
        self.catalog = open_catalog(settings, self.dir)
        try:
            self._open_vectors(embedder)
        except BaseException:  # e.g. the Chroma server is down: release the catalog's connections
            self.catalog.close()
            raise
        self.limits = Limits(max_bytes=int(settings.max_file_mb * 1e6), timeout=settings.url_timeout,
                             max_entries=settings.max_feed_entries,
                             allow_private=settings.allow_private_urls)

    def _open_vectors(self, embedder: PackagedEmbedding | None) -> None:
        settings = self.settings
        self._check_model(settings.embed_model)
        self.embedder = embedder or PackagedEmbedding(settings.embed_model)
        # one collection per catalog: several catalogs may share one Chroma server
        self.vectors = VectorIndex(open_client(self.dir, settings.chroma_url),
                                   f"sentences-{self.catalog.index_id()}-{settings.embed_model}",
                                   settings.chroma_url)
        if self.catalog.get_meta("vector_fields") != "1":
            with self.catalog.lock(wait=LOCK_WAIT):
                upgrade_vectors(self.catalog, self.vectors)
        if self.catalog.get_meta("stories") != "1":
            with self.catalog.lock(wait=LOCK_WAIT):
                upgrade_stories(self.catalog, self.vectors)
        self.repair()

    def _check_data_dir(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UnavailableError(f"cannot create the data folder {self.dir} ({e.strerror}); "
                                   "set QA_DATA_DIR to a writable folder.") from None
        if not os.access(self.dir, os.W_OK):  # Chroma and SQLite both need to write, even to read
            raise UnavailableError(f"the data folder {self.dir} is read-only; make it writable or set "
                                   "QA_DATA_DIR to another folder.")

    def repair(self) -> bool:
        """Delete what a killed writer left (vectors of articles it never committed), unless
        another writer is busy now (it repairs before it writes). True if it could look."""
        try:
            with self.catalog.lock(wait=0):
                self._clean_pending()
            return True
        except UnavailableError:
            return False

    def _check_model(self, name: str) -> None:
        used = self.catalog.get_meta("embed_model")
        if used and used != name and self.catalog.count():
            raise UnavailableError(f"this data folder was indexed with QA_EMBED_MODEL={used}; set it back "
                                   f"or use another QA_DATA_DIR for {name}.")

    # --- reading ---
    def get_article(self, article_id: str) -> Article:
        a = self.catalog.get(article_id)
        if a is None:
            raise _unknown(article_id)
        return a

    def check_ids(self, article_ids: list[str]) -> None:
        """Raise the "no article" error for the first unknown id (without loading any text)."""
        for aid in article_ids:
            if not self.catalog.has(aid):
                raise _unknown(aid)

    def list_articles(self, search: str = "", limit: int | None = None) -> list[Article]:
        return self.catalog.list(search, limit)

    def scope(self, article_ids: list[str] | None = None, since: str | None = None,
              until: str | None = None, sites: list[str] | None = None) -> Scope:
        """The scope of a question, checked: known ids, real dates in order, sites resolved to
        the keys stored (a site nothing was stored from resolves to none, so nothing matches)."""
        if article_ids is not None:
            article_ids = list(dict.fromkeys(article_ids))
            self.check_ids(article_ids)
        since = dates.parse_day(since, "since") if since not in (None, "") else None
        until = dates.parse_day(until, "until") if until not in (None, "") else None
        if since and until and since > until:
            raise QAError(f"since {since} is after until {until}; swap them.")
        if isinstance(sites, str):
            sites = [sites]
        wanted = [t.strip() for t in sites or [] if isinstance(t, str) and t.strip()]
        keys, extra = self.catalog.resolve_sites(wanted) if wanted else (None, ())
        return Scope(tuple(article_ids) if article_ids is not None else None, since, until,
                     keys, extra)

    def never_written(self) -> bool:
        return self.catalog.get_meta("initialized") is None and self.catalog.count() == 0

    # --- writing ---
    def ingest(self, sources: Iterable[str | dict], *, progress: Progress | None = None,
               errors: list[tuple[str, str]] | None = None, limit: int | None = None,
               on_entry: EntryProgress | None = None) -> list[Article]:
        """Load and index sources; returns their articles (already-stored ones included).

        A source is a path, a URL, or a record ``{"title", "text", "url"?, "published"?,
        "site"?, "author"?}``; a record's source is its url, so a new version of an article at
        the same url replaces the old one. A feed (by URL or file) brings in its entries'
        articles: the first ``limit`` entries, those already stored without fetching them again;
        ``on_entry`` hears of each entry read. With ``errors`` given, a bad source or entry is
        recorded there as (source, message) and the rest go on; without it the first one raises
        ``QAError`` before anything is written.
        """
        docs: list[Document] = []
        stored: list[Article] = []

        def failed(source: str, message: str) -> None:
            if errors is None:
                raise QAError(message)
            errors.append((source, message))

        for n, src in enumerate(sources, 1):
            for item in ([src] if isinstance(src, dict) else self._expand(src)):
                name = f"record {n}" if isinstance(item, dict) else str(item)
                try:
                    if isinstance(item, dict):
                        url = item.get("url")
                        got = [record(item, url if isinstance(url, str) else "", name)]
                    else:
                        got = load(str(item), self.limits)
                except QAError as e:
                    if errors is None:
                        raise
                    errors.append((name, str(e)))
                    continue
                if isinstance(got, Feed):
                    new, old, bad = entry_documents(got, self.limits, known=self.known, limit=limit,
                                                    on_entry=on_entry)
                    for source, message in bad:
                        failed(source, message)
                    docs.extend(new)
                    stored.extend(self.by_url(old))
                else:
                    docs.extend(got)
        added = self.add_documents(docs, progress=progress)
        return list({a.id: a for a in [*stored, *added]}.values())

    def known(self, url: str) -> bool:
        """Whether an article was ever stored from this URL (or feed entry id)."""
        return self.catalog.id_for_url(url) is not None

    def by_url(self, urls: list[str]) -> list[Article]:
        """The stored articles these URLs (or feed entry ids) led to."""
        ids = dict.fromkeys(i for i in map(self.catalog.id_for_url, urls) if i)
        return [a for a in map(self.catalog.get, ids) if a is not None]

    def _expand(self, src: str) -> list:
        p = Path(src).expanduser()
        if "://" not in src and p.is_dir():
            files = list(iter_folder(p))
            if not files:
                raise QAError(f"{src}: no .txt, .md, .html or .json files in this folder.")
            return files
        return [src]

    def add_documents(self, docs: list[Document], *, progress: Progress | None = None) -> list[Article]:
        """Index documents; returns their articles, in order. A document whose story is stored
        already (same text, or a near-identical copy from another source) adds its URLs to it."""
        return self.store_documents(docs, progress)[0]

    def store_documents(self, docs: list[Document], progress: Progress | None = None
                        ) -> tuple[list[Article], set[str]]:
        """``add_documents``, also returning the ids of the articles stored by this call."""
        new: dict[str, Article] = {}  # stories not stored yet, by id
        keys: dict[str, set[str]] = {}  # their sentence keys, to catch copies within the batch
        urls: dict[str, list[str]] = {}  # story id -> URLs its documents came from, in order
        for d in docs:
            aid = article_id(d.text)
            if aid not in new and not self.catalog.has(aid):
                a = Article(aid, d.title.strip() or "Untitled", d.text, d.source, d.url,
                            d.published, d.site or (host(d.url) if is_url(d.url) else None), d.author,
                            sentences=tuple(split_sentences(d.text, aid)))
                if not a.sentences:
                    continue
                mine = {sentence_key(s.text) for s in a.sentences}
                same = self.catalog.near_duplicate(list(mine), a.source, SAME_STORY) \
                    or _copy_of(mine, a.source, keys, new)
                if same:
                    aid = same
                else:
                    new[aid], keys[aid] = a, mine
            urls.setdefault(aid, []).extend(u for u in (d.url, d.source, *d.urls) if is_url(u))
        with self.catalog.lock(wait=LOCK_WAIT):
            # another process may have stored the same text since we looked
            fresh = [replace(a, urls=tuple(dict.fromkeys(urls[aid]))) for aid, a in new.items()
                     if not self.catalog.has(aid)]
            fresh_ids = {a.id for a in fresh}
            self._clean_pending()
            self.catalog.set_meta("initialized", "1")
            if fresh:
                self.catalog.set_meta("embed_model", self.settings.embed_model)
            for aid, found in urls.items():
                if aid not in fresh_ids and self.catalog.has(aid):
                    self.catalog.add_urls(aid, [u for u in found if self.catalog.id_for_url(u) != aid])
            total = sum(len(a.sentences) for a in fresh)
            done = 0
            for i in range(0, len(fresh), DOC_BATCH):
                batch = fresh[i:i + DOC_BATCH]

                def tick(n: int, base=done) -> None:
                    if progress:
                        progress(base + n, total)
                done += self._write_batch(batch, tick)
        by_id = {a.id: a for a in fresh}
        out = [by_id.get(aid) or self.catalog.get(aid) for aid in urls]
        return [a for a in out if a is not None], fresh_ids

    def _write_batch(self, batch: list[Article], tick: Callable[[int], None]) -> int:
        chunks, texts, meta = [], [], []
        for a in batch:
            for c in make_chunks(a):
                chunks.append(c)
                texts.append(embed_text(a, c))
                meta.append(chunk_metadata(c, a))
        vectors = self._embed_unique(texts, tick)
        replaced = sorted({old for a in batch if a.source for old in self.catalog.ids_for_source(a.source)}
                          - {a.id for a in batch})
        grouping = self._group(batch, vectors, set(replaced))
        # replaced articles are marked too: a crash after the commit but before their vectors
        # are deleted must leave those vectors for the next writer to clean up
        ids = [a.id for a in batch] + replaced
        self.catalog.add_pending(ids)
        self.vectors.add(chunks, vectors, meta)
        self.catalog.commit_articles(batch, replaced, grouping)
        for old in replaced:
            self.vectors.delete(old)
        self.catalog.clear_pending(ids)
        return len(texts)

    def _group(self, batch: list[Article], vectors: np.ndarray, leaving: set[str]
               ) -> tuple[list[stories.Profile], stories.Grouping]:
        """The stories of a batch's articles, from the sentence vectors just computed (rows in
        the batch's chunk order: one per sentence)."""
        profiles, row = [], 0
        for a in batch:
            profiles.append(stories.profile(a, vectors[row:row + len(a.sentences)]))
            row += len(a.sentences)
        days = [dates.ordinal(p.day) for p in profiles if p.day is not None]
        known = []
        if days:
            lo, hi = (dates.number_of(d) for d in (min(days) - stories.MAX_GAP_DAYS,
                                                 max(days) + stories.MAX_GAP_DAYS))
            known = [p for p in self.catalog.story_profiles(lo, hi) if p.article_id not in leaving]
        return profiles, stories.group(profiles, known)

    def _embed_unique(self, texts: list[str], tick: Callable[[int], None]) -> np.ndarray:
        """Embed each distinct text once (boilerplate lines repeat across news articles)."""
        uniq: dict[str, int] = {}
        rows = [uniq.setdefault(t, len(uniq)) for t in texts]
        seen = 0

        def step(n: int) -> None:
            nonlocal seen
            seen += n
            tick(round(seen * len(texts) / max(1, len(uniq))))

        vecs = self.embedder.embed_many(list(uniq), progress=step)
        return vecs[rows]

    def remove(self, article_id: str) -> None:
        with self.catalog.lock(wait=LOCK_WAIT):
            if not self.catalog.has(article_id):
                raise _unknown(article_id)
            story = self.catalog.stories_of([article_id]).get(article_id)
            self.catalog.add_pending([article_id])  # vectors outlive a crash here: clean them later
            self.catalog.delete(article_id)
            self.vectors.delete(article_id)
            self.catalog.clear_pending([article_id])
            if story:
                self._split(story)

    def _split(self, story_id: str) -> None:
        """After a removal: the story's articles that no longer link to the rest form their own."""
        parts = stories.split(self.catalog.story_members(story_id))
        parts.sort(key=len, reverse=True)
        moves = {p.article_id: stories.story_id(part[0].article_id)
                 for part in parts[1:] for p in part}
        if moves:
            self.catalog.place_articles(moves, pinned=False)

    # --- stories ---
    def stories(self, search: str = "", limit: int | None = None) -> list[Story]:
        return self.catalog.stories(search, limit)

    def story(self, story_id: str) -> tuple[Story, list[Article]]:
        """A story and its articles (without texts), oldest first."""
        found = self.catalog.stories(story_ids=[story_id])
        if not found:
            raise NotFoundError(f"no story with id {story_id!r}; `qa story list` shows the ids.")
        order = [aid for aid, *_ in self.catalog.story_articles(story_id)]
        listed = {a.id: a for a in self.catalog.list(ids=order)}
        return found[0], [listed[aid] for aid in order if aid in listed]

    def story_of(self, article_id: str) -> Story:
        sid = self.catalog.stories_of([article_id]).get(article_id)
        if sid is None:
            raise _unknown(article_id)
        return self.catalog.stories(story_ids=[sid])[0]

    def move_article(self, article_id: str, story_id: str | None = None) -> Story:
        """Put an article into another story, or (``story_id`` None) out into a story of its
        own; the article is pinned there. Returns its new story."""
        with self.catalog.lock(wait=LOCK_WAIT):
            if not self.catalog.has(article_id):
                raise _unknown(article_id)
            if story_id is None:
                story_id = "s" + uuid.uuid4().hex[:12]
            elif not self.catalog.story_members(story_id):
                raise NotFoundError(f"no story with id {story_id!r}; `qa story list` shows the ids.")
            self.catalog.place_articles({article_id: story_id}, pinned=True)
        return self.story_of(article_id)

    def _clean_pending(self) -> None:
        """Drop vectors of articles whose ingest died before committing."""
        stale = [a for a in self.catalog.pending() if not self.catalog.has(a)]
        for a in stale:
            self.vectors.delete(a)
        self.catalog.clear_pending(self.catalog.pending())


def _copy_of(mine: set[str], source: str, keys: dict[str, set[str]], new: dict[str, Article]
             ) -> str | None:
    """A new article of this same batch that ``mine`` is a near-identical copy of."""
    for aid, theirs in keys.items():
        if new[aid].source != source and len(mine & theirs) >= SAME_STORY * max(len(mine), len(theirs)):
            return aid
    return None
