"""Sentence-aligned chunks: the records stored in Chroma.

One chunk holds one sentence: answers cite sentences, so the sentence is the unit that is
embedded, searched and scored; neighbours supply context at scoring time instead of being
embedded twice. The embedded text is prefixed with the article title, which tells apart
sentences that only make sense inside their article ("He said the talks failed.").
"""

from __future__ import annotations

import json

from index.types import Article, Chunk


def make_chunks(article: Article) -> list[Chunk]:
    return [Chunk(article.id, (s.index,), s.start, s.end, s.text) for s in article.sentences]


def embed_text(article: Article, chunk: Chunk) -> str:
    return f"{article.title}: {chunk.text}" if article.title else chunk.text


def chunk_metadata(chunk: Chunk) -> dict:
    """Flat Chroma metadata (str/int only); sentence ids travel as a JSON string."""
    return {"article_id": chunk.article_id, "sentence_ids": json.dumps(list(chunk.sentence_ids)),
            "first_sentence": chunk.sentence_ids[0], "start": chunk.start, "end": chunk.end}
