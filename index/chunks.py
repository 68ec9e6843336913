"""Sentence-aligned chunks: the records stored in Chroma.

One chunk holds one sentence: answers cite sentences, so the sentence is the unit that is
embedded, searched and scored; neighbours supply context at scoring time instead of being
embedded twice. The embedded text is prefixed with the article title, which tells apart
sentences that only make sense inside their article ("He said the talks failed.").
"""

from __future__ import annotations

import json

from index import dates
from index.sites import site_key
from index.types import Article, Chunk


def make_chunks(article: Article) -> list[Chunk]:
    return [Chunk(article.id, (s.index,), s.start, s.end, s.text) for s in article.sentences]


def embed_text(article: Article, chunk: Chunk) -> str:
    return f"{article.title}: {chunk.text}" if article.title else chunk.text


def chunk_metadata(chunk: Chunk, article: Article) -> dict:
    """Flat Chroma metadata (str/int only); sentence ids travel as a JSON string. The article's
    filter fields ride along so a date or site filter runs inside the vector search: ``day``
    (20250319; absent for an undated article, which no date range then matches) and ``site``
    (the catalog's site key)."""
    return {"article_id": chunk.article_id, "sentence_ids": json.dumps(list(chunk.sentence_ids)),
            "first_sentence": chunk.sentence_ids[0], "start": chunk.start, "end": chunk.end,
            **filter_metadata(dates.day_number(article.published), site_key(article.url, article.site))}


def filter_metadata(day: int | None, site: str | None) -> dict:
    return {k: v for k, v in (("day", day), ("site", site)) if v is not None}
