"""Sentence vectors in Chroma, through llama-index's ``ChromaVectorStore``.

Embedded ``PersistentClient`` in the data folder by default, a Chroma server when
``QA_CHROMA_URL`` is set. Chroma never embeds anything itself: vectors always come from
``index.embeddings`` and the collection is opened with ``embedding_function=None`` (otherwise
Chroma would try to download its own model).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from llama_index.vector_stores.chroma import ChromaVectorStore
from llama_index.vector_stores.chroma.base import _to_chroma_filter

from index import dates
from index.types import Chunk, QAError, Scope, UnavailableError

ADD_BATCH = 2000  # large batches: adds over HTTP are several times slower per call


def open_client(data_dir: Path, chroma_url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cfg = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if chroma_url:
            u = urlparse(chroma_url if "://" in chroma_url else "http://" + chroma_url)
            client = chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                         ssl=u.scheme == "https", settings=cfg)
            client.heartbeat()
            return client
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=cfg)
    except Exception as e:  # chromadb raises many types; all mean "cannot use this store"
        where = f"the Chroma server at {chroma_url}" if chroma_url else f"{data_dir / 'chroma'}"
        first = str(e).splitlines()[0][:200] if str(e) else ""
        raise UnavailableError(f"cannot open {where} ({type(e).__name__}: {first}); "
                               + ("start it (chroma run --path DIR --port N) or unset QA_CHROMA_URL."
                                  if chroma_url else "check that the data folder is writable.")) from None


class VectorIndex:
    def __init__(self, client, collection: str, chroma_url: str = "") -> None:
        self._url = chroma_url
        coll = self._guard(lambda: client.get_or_create_collection(
            collection, embedding_function=None, metadata={"hnsw:space": "cosine"}))
        self._coll = coll
        self._store = ChromaVectorStore(chroma_collection=coll)

    def add(self, chunks: list[Chunk], vectors: np.ndarray, metadata: list[dict]) -> None:
        for i in range(0, len(chunks), ADD_BATCH):
            nodes = [TextNode(id_=c.id, text=c.text, embedding=v.tolist(), metadata=m,
                              relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=c.article_id)})
                     for c, v, m in zip(chunks[i:i + ADD_BATCH], vectors[i:i + ADD_BATCH],
                                        metadata[i:i + ADD_BATCH])]
            self._guard(lambda: self._store.add(nodes))

    def set_metadata(self, updates: list[tuple[str, dict]]) -> None:
        """Add keys to existing chunks' metadata, given as (chunk id, keys) pairs (Chroma merges
        them into what is there)."""
        for i in range(0, len(updates), ADD_BATCH):
            ids, metas = zip(*updates[i:i + ADD_BATCH])
            self._guard(lambda: self._coll.update(ids=list(ids), metadatas=list(metas)))

    def get(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks (those that exist), by chunk id."""
        if not chunk_ids:
            return {}
        res = self._guard(lambda: self._coll.get(ids=chunk_ids, include=["embeddings"]))
        return {i: np.asarray(v, np.float32) for i, v in zip(res["ids"], res["embeddings"])}

    def delete(self, article_id: str) -> None:
        self._guard(lambda: self._store.delete(article_id))

    def search(self, vector: np.ndarray, k: int, scope: Scope | None = None
               ) -> list[tuple[str, int, float]]:
        """Top-k (article_id, sentence index, cosine similarity) within ``scope``.

        Queries the collection directly for ids and distances only: a chunk id names its article
        and first sentence, so fetching documents and metadata and rebuilding llama-index nodes
        (what ``ChromaVectorStore.query`` does) would only cost time (~3 ms of a ~20 ms ask).
        The filter is built as ``ChromaVectorStore`` builds it, so results are the same.
        """
        where = _where(scope) if scope is not None and not scope.is_empty() else None
        res = self._guard(lambda: self._coll.query(query_embeddings=[vector.tolist()], n_results=k,
                                                   where=where, include=["distances"]))
        out = []
        for cid, dist in zip(res["ids"][0], res["distances"][0]):
            aid, _, span = cid.rpartition(":")
            out.append((aid, int(span.split("-")[0]), 1.0 - float(dist)))  # cosine distance = 1 - cos
        return out

    def search_articles(self, vector: np.ndarray, k: int, article_ids: list[str]
                        ) -> list[tuple[str, int, float]]:
        """``search`` within a few articles: a second look that retrieval can do without. While
        another process writes, an embedded Chroma may fail such a filtered query ("Error
        finding id"); then nothing more is found, and the first search's candidates stand."""
        try:
            return self.search(vector, k, Scope(article_ids=tuple(article_ids)))
        except QAError:
            raise
        except Exception:
            return []

    def count(self) -> int:
        return self._guard(self._coll.count)

    def _guard(self, fn):
        try:
            return fn()
        except QAError:
            raise
        except Exception as e:
            if self._url:
                raise UnavailableError(f"the Chroma server at {self._url} is not answering "
                                       f"({type(e).__name__}); start it again, then retry.") from None
            raise


def _where(scope: Scope) -> dict:
    """Chroma's ``where`` for a scope: article ids, a range of ``day`` numbers, site keys (or
    the few articles that match the sites through a syndicated copy's URL only)."""
    parts = []
    if scope.article_ids is not None:
        parts.append(MetadataFilter(key="article_id", value=list(scope.article_ids),
                                    operator=FilterOperator.IN))
    if scope.since is not None:
        parts.append(MetadataFilter(key="day", value=dates.day_number(scope.since),
                                    operator=FilterOperator.GTE))
    if scope.until is not None:
        parts.append(MetadataFilter(key="day", value=dates.day_number(scope.until),
                                    operator=FilterOperator.LTE))
    if scope.sites is not None:
        # an empty list matches nothing, which is right: no site matched what was asked
        site = MetadataFilter(key="site", value=list(scope.sites) or [""], operator=FilterOperator.IN)
        if scope.extra_ids:
            parts.append(MetadataFilters(condition="or", filters=[site, MetadataFilter(
                key="article_id", value=list(scope.extra_ids), operator=FilterOperator.IN)]))
        else:
            parts.append(site)
    return _to_chroma_filter(MetadataFilters(filters=parts))
