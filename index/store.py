"""The index as one object: ingest, remove and read articles, search sentences.

Write order keeps the index consistent at every instant, whatever kills the process:
1. the ids of new articles, and of older versions they replace, are marked ``pending``;
2. the new vectors are written to Chroma;
3. articles, sentences and BM25 rows commit in one SQLite transaction, which also deletes
   older versions of the same source;
4. the older versions' vectors are deleted, then the pending marks are dropped.
A crash anywhere leaves at most vectors of pending ids that no committed article owns; the next
writer deletes them, and readers ignore them meanwhile. Readers only see committed articles, so
nothing half-ingested is ever visible (``remove`` follows the same marks). Writers take a lock
file, so two processes never write at once; the second one waits briefly, then gets a clear
"busy" error.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index.catalog import Catalog
from index.chunks import embed_text, make_chunks
from index.embeddings import PackagedEmbedding
from index.loading import Document, iter_folder, load, record
from index.sentences import split_sentences
from index.vectors import VectorIndex, open_client
from index.settings import Settings
from index.types import Article, NotFoundError, QAError, UnavailableError

Progress = Callable[[int, int], None]  # (done, total) sentences embedded
DOC_BATCH = 200  # documents embedded and committed together (bounds memory on big ingests)
LOCK_WAIT = 30.0


def _unknown(article_id: str) -> NotFoundError:
    return NotFoundError(f"no article with id {article_id!r}; `qa list` shows the ids.")


def article_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Store:
    def __init__(self, settings: Settings, embedder: PackagedEmbedding | None = None) -> None:
        self.settings = settings
        self.dir = Path(settings.data_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UnavailableError(f"cannot create the data folder {self.dir} ({e.strerror}); "
                                   "set QA_DATA_DIR to a writable folder.") from None
        if not os.access(self.dir, os.W_OK):  # Chroma and SQLite both need to write, even to read
            raise UnavailableError(f"the data folder {self.dir} is read-only; make it writable or set "
                                   "QA_DATA_DIR to another folder.")
        self.catalog = Catalog(self.dir / "catalog.sqlite3")
        self._check_model(settings.embed_model)
        self.embedder = embedder or PackagedEmbedding(settings.embed_model)
        # one collection per data folder: several folders may share one Chroma server
        self.vectors = VectorIndex(open_client(self.dir, settings.chroma_url),
                                   f"sentences-{self.catalog.index_id()}-{settings.embed_model}",
                                   settings.chroma_url)

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

    def list_articles(self) -> list[Article]:
        return self.catalog.list()

    def never_written(self) -> bool:
        return self.catalog.get_meta("initialized") is None and self.catalog.count() == 0

    # --- writing ---
    def ingest(self, sources: Iterable[str | dict], *, progress: Progress | None = None,
               errors: list[tuple[str, str]] | None = None) -> list[Article]:
        """Load and index sources; returns their articles (already-stored ones included).

        A source is a path, a URL, or a record ``{"title", "text", "url"?, "published"?}``; a
        record's source is its url, so a new version of an article at the same url replaces
        the old one. With ``errors`` given, a bad source is recorded there as (source, message)
        and the rest go on; without it the first bad source raises ``QAError`` before anything
        is written.
        """
        docs: list[Document] = []
        for n, src in enumerate(sources, 1):
            for item in ([src] if isinstance(src, dict) else self._expand(src)):
                try:
                    if isinstance(item, dict):
                        url = item.get("url")
                        docs.append(record(item, url if isinstance(url, str) else "", f"record {n}"))
                    else:
                        docs.extend(load(str(item), max_bytes=int(self.settings.max_file_mb * 1e6),
                                         timeout=self.settings.url_timeout))
                except QAError as e:
                    if errors is None:
                        raise
                    errors.append((f"record {n}" if isinstance(item, dict) else str(item), str(e)))
        return self.add_documents(docs, progress=progress)

    def _expand(self, src: str) -> list:
        p = Path(src).expanduser()
        if "://" not in src and p.is_dir():
            files = list(iter_folder(p))
            if not files:
                raise QAError(f"{src}: no .txt, .md, .html or .json files in this folder.")
            return files
        return [src]

    def add_documents(self, docs: list[Document], *, progress: Progress | None = None) -> list[Article]:
        result: dict[str, Article] = {}
        new: list[Article] = []
        for d in docs:
            aid = article_id(d.text)
            if aid in result:
                continue
            stored = self.catalog.get(aid)
            if stored is not None:
                result[aid] = stored
                continue
            a = Article(aid, d.title.strip() or "Untitled", d.text, d.source, d.url, d.published,
                        sentences=tuple(split_sentences(d.text, aid)))
            if not a.sentences:
                continue
            result[aid] = a
            new.append(a)
        with self._write_lock():
            # another process may have stored the same text since we looked
            new = [a for a in new if not self.catalog.has(a.id)]
            total = sum(len(a.sentences) for a in new)
            done = 0
            self._clean_pending()
            self.catalog.set_meta("initialized", "1")
            if new:
                self.catalog.set_meta("embed_model", self.settings.embed_model)
            for i in range(0, len(new), DOC_BATCH):
                batch = new[i:i + DOC_BATCH]

                def tick(n: int, base=done) -> None:
                    if progress:
                        progress(base + n, total)
                done += self._write_batch(batch, tick)
        return list(result.values())

    def _write_batch(self, batch: list[Article], tick: Callable[[int], None]) -> int:
        chunks, texts = [], []
        for a in batch:
            for c in make_chunks(a):
                chunks.append(c)
                texts.append(embed_text(a, c))
        vectors = self._embed_unique(texts, tick)
        replaced = sorted({old for a in batch if a.source for old in self.catalog.ids_for_source(a.source)}
                          - {a.id for a in batch})
        # replaced articles are marked too: a crash after the commit but before their vectors
        # are deleted must leave those vectors for the next writer to clean up
        ids = [a.id for a in batch] + replaced
        self.catalog.add_pending(ids)
        self.vectors.add(chunks, vectors)
        self.catalog.commit_articles(batch, replaced)
        for old in replaced:
            self.vectors.delete(old)
        self.catalog.clear_pending(ids)
        return len(texts)

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
        with self._write_lock():
            if not self.catalog.has(article_id):
                raise _unknown(article_id)
            self.catalog.add_pending([article_id])  # vectors outlive a crash here: clean them later
            self.catalog.delete(article_id)
            self.vectors.delete(article_id)
            self.catalog.clear_pending([article_id])

    def _clean_pending(self) -> None:
        """Drop vectors of articles whose ingest died before committing."""
        stale = [a for a in self.catalog.pending() if not self.catalog.has(a)]
        for a in stale:
            self.vectors.delete(a)
        self.catalog.clear_pending(self.catalog.pending())

    @contextmanager
    def _write_lock(self):
        path = self.dir / "write.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UnavailableError(f"cannot write to the data folder {self.dir} ({e.strerror}); "
                                   "make it writable or set QA_DATA_DIR.") from None
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise UnavailableError(f"the data folder {self.dir} is busy: another process is "
                                               "ingesting; try again when it finishes.") from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)
