"""One look at a followed feed: a conditional request, then only the entries not stored yet.

The validators of the last successful look (``ETag``, ``Last-Modified``) go out as
``If-None-Match`` / ``If-Modified-Since``, so an unchanged feed costs one small 304. They are
kept only when every entry was read: an entry that failed is tried again at the next look
instead of hiding behind a 304 until the feed changes.

A look holds a lock named after the feed in the catalog, so when several processes follow one
feed (replicas on one PostgreSQL catalog) one reads it while the others wait, then find its
entries stored: each entry is fetched and ingested once.
"""

from __future__ import annotations

import time

from index.feed_entries import EntryProgress, entry_documents
from index.fetch import fetch
from index.loading import URL_TYPES, from_response
from index.store import Progress, Store
from index.types import Feed, FeedPoll, QAError


def poll_feed(store: Store, url: str, *, limit: int | None = None, progress: Progress | None = None,
              on_entry: EntryProgress | None = None) -> FeedPoll:
    """Look at ``url`` once and ingest its new entries. Never raises for a problem with the feed
    or its entries: the result says what happened."""
    start = time.monotonic()
    with store.catalog.lock(f"feed {url}", wait=None):
        return _poll(store, url, start, limit, progress, on_entry)


def _poll(store: Store, url: str, start: float, limit: int | None, progress: Progress | None,
          on_entry: EntryProgress | None) -> FeedPoll:
    etag, modified = store.catalog.feed_state(url)
    headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v}
    limits = store.limits
    try:
        resp = fetch(url, max_bytes=limits.max_bytes, timeout=limits.timeout,
                     allow_private=limits.allow_private, accept=", ".join(URL_TYPES), headers=headers)
        if resp.status == 304:
            return FeedPoll(url, "not modified", seconds=_since(start))
        feed = from_response(url, resp.url, resp.content_type, resp.body, limits)
        if not isinstance(feed, Feed):
            raise QAError(f"{url}: not an RSS, Atom or RDF feed; `qa ingest` takes single pages.")
        docs, old, failed = entry_documents(feed, limits, known=store.known, limit=limit,
                                            on_entry=on_entry)
        articles, fresh = store.store_documents(docs, progress)
    except QAError as e:
        return FeedPoll(url, "error", error=str(e), seconds=_since(start))
    if not failed:
        store.catalog.save_feed(url, feed.title, resp.etag, resp.last_modified)
    return FeedPoll(url, "read", feed.title, tuple(a for a in articles if a.id in fresh),
                    known=len(old), failed=tuple(failed), seconds=_since(start))


def _since(start: float) -> float:
    return round(time.monotonic() - start, 2)
