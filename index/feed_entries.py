"""A feed's entries become documents: the entry's own full text when the feed carries it
(content:encoded, Atom content), else the linked page, fetched a few at a time.

Entries already stored (their link or id is a known URL) are skipped without a fetch, so
following a feed costs one request per new story. The page's metadata wins; the entry's title,
date and author fill what the page lacks. A page that names no site is known by its host (an
aggregator's feed title would name the wrong publication); an entry carried whole takes the
feed's title as its site.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

from index.extract import fragment_text
from index.loading import load_url
from index.types import Document, Feed, FeedEntry, Limits, QAError

FETCH_WORKERS = 6  # pages fetched at once: enough to hide network waits, polite to one site
FULL_TEXT_CHARS = 300  # full content (content:encoded, Atom content) this long is the article
EntryProgress = Callable[[int, int, str], None]  # (entries done, entries to read, last title)


def entry_documents(feed: Feed, limits: Limits, *, known: Callable[[str], bool],
                    limit: int | None = None, on_entry: EntryProgress | None = None
                    ) -> tuple[list[Document], list[str], list[tuple[str, str]]]:
    """(documents of the new entries, keys of entries already stored, (entry, error) pairs).

    ``limit`` takes only the first N entries of the feed (feeds list the newest first)."""
    entries = list(feed.entries[:limit] if limit else feed.entries)
    old = [e.key for e in entries if known(e.key)]
    todo = [e for e in entries if e.key not in set(old)]
    docs: list[Document] = []
    errors: list[tuple[str, str]] = []
    if not todo:
        return docs, old, errors
    pool = ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(todo)), thread_name_prefix="qa-feed")
    try:
        for n, (entry, result) in enumerate(zip(todo, pool.map(lambda e: _read(e, feed, limits), todo)), 1):
            if isinstance(result, QAError):
                errors.append((entry.link or entry.key, str(result)))
            else:
                docs.append(result)
            if on_entry:
                on_entry(n, len(todo), entry.title)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not start further fetches
    return docs, old, errors


def _read(entry: FeedEntry, feed: Feed, limits: Limits) -> Document | QAError:
    try:
        return _document(entry, feed, limits)
    except QAError as e:
        return e


def _document(entry: FeedEntry, feed: Feed, limits: Limits) -> Document:
    """The entry's article. A summary (RSS description) is a teaser: the linked page is read
    instead; so is full content short enough to be one ("Continue reading...")."""
    content = fragment_text(entry.content)
    carried = content or fragment_text(entry.summary)
    if entry.link and len(content) < FULL_TEXT_CHARS:
        got = load_url(entry.link, limits)
        if not isinstance(got, list):
            raise QAError(f"{entry.link}: the entry links to another feed, not to an article.")
        doc = got[0]
        untitled = doc.title == doc.source  # the page had no title: loading named it by its URL
        return replace(doc, title=entry.title or doc.title if untitled else doc.title,
                       published=doc.published or entry.published,
                       author=doc.author or entry.author,
                       urls=tuple(dict.fromkeys(u for u in (*doc.urls, entry.key) if u != doc.url)))
    if not carried:
        raise QAError(f"{entry.key}: the entry has no text and no link.")
    return Document(entry.title or carried.split("\n", 1)[0][:120], carried,
                    source=entry.link or f"{feed.url}#{entry.key}", url=entry.link,
                    published=entry.published, site=feed.title or None, author=entry.author,
                    urls=() if entry.link else (entry.key,))
