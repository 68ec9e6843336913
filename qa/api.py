"""The public functions behind ``qa``: ask, ingest, get_article, list_articles, remove.

Each takes an optional ``settings`` (default: ``Settings.from_env()``). Stores are opened once
per (data folder, Chroma URL, model) and reused, so a warm ``ask`` pays only for the query.
"""

from __future__ import annotations

import re
import threading
from typing import Callable, Iterable

from index.loading import clean_text
from index.loading import iter_folder
from index.store import Store
from qa import extractive, generative
from qa.rerank import rerank
from qa.retrieve import retrieve
from index.settings import Settings
from index.types import Answer, Article, QAError, UnavailableError

MAX_QUESTION_CHARS = 2000  # longer questions are cut: the embedder reads 128 tokens anyway

_stores: dict[tuple, Store] = {}
_lock = threading.Lock()


def open_store(settings: Settings | None = None, *, seed: bool = True) -> Store:
    """The (cached) store for these settings; seeds a data folder nothing was ever written to.

    Seeding happens once: a user who removes the seed article does not get it back.
    """
    s = settings or Settings.from_env()
    key = (str(s.data_dir), s.chroma_url, s.embed_model)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = Store(s)
        if seed and s.seed_dir and store.never_written():
            if not s.seed_dir.is_dir():
                raise UnavailableError(f"QA_SEED_DIR {s.seed_dir} is not a folder; fix it or set "
                                       "QA_SEED_DIR=''.")
            store.ingest([str(p) for p in iter_folder(s.seed_dir) if p.name.lower() != "readme.md"])
    return store


def close_store(settings: Settings) -> None:
    """Forget the cached store for these settings (e.g. before deleting its folder)."""
    with _lock:
        _stores.pop((str(settings.data_dir), settings.chroma_url, settings.embed_model), None)


def ask(question: str, *, history: Iterable | None = None, article_ids: list[str] | None = None,
        settings: Settings | None = None, llm: str | None = None,
        on_token: Callable[[str], None] | None = None) -> Answer:
    """Answer ``question`` from the indexed articles, citing sentences.

    history: earlier turns, as strings (the user's questions), (question, answer) pairs, or
        chat messages ``{"role": ..., "content": ...}``; used to read follow-up questions.
    article_ids: restrict the answer to these articles.
    llm: "openai" / "llamacpp" for a generative answer, "none" for extractive; default from
        ``QA_LLM``. on_token receives streamed text in generative mode.
    """
    s = settings or Settings.from_env()
    q = clean_question(question)
    store = open_store(s)
    if article_ids is not None:
        article_ids = list(dict.fromkeys(article_ids))
        store.check_ids(article_ids)  # clear error for an unknown id
    past = user_turns(history)
    choice = llm if llm is not None else s.llm
    def search(query: str, history: list[str] = past):
        found = retrieve(store, query, history=history, article_ids=article_ids,
                         limit=s.rerank_top if s.reranker != "off" else 10)
        return rerank(query, found, s)

    if generative.wanted(choice):  # falls back to the extractive answer, with a notice
        return generative.ask(q, history, search, s, choice, on_token)
    return extractive.answer(q, search(q), s)


def clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QAError("the question must be text.")
    q = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", clean_text(question))
    q = " ".join(q.split())
    if len(q) > MAX_QUESTION_CHARS:  # whole words only: a fragment like "rele" matches nothing
        q = q[:MAX_QUESTION_CHARS + 1].rsplit(" ", 1)[0][:MAX_QUESTION_CHARS]
    if not q:
        raise QAError("the question is empty; type a question about the articles.")
    return q


def user_turns(history: Iterable | None) -> list[str]:
    """The user's earlier questions, oldest first, from any of the accepted history shapes."""
    out = []
    for turn in history or []:
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict):
            if turn.get("role") == "user":
                c = turn.get("content")
                if isinstance(c, list):  # gradio 6 may send content as a list of blocks
                    c = " ".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in c)
                if isinstance(c, str):
                    out.append(c)
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            out.append(turn[0])
    return [clean_question(t) for t in out if t and t.strip()]


def ingest(sources: str | dict | Iterable[str | dict], *, settings: Settings | None = None,
           progress: Callable[[int, int], None] | None = None,
           errors: list[tuple[str, str]] | None = None) -> list[Article]:
    """Index files, folders, URLs, JSON/JSONL batches or records ``{"title", "text", "url"?,
    "published"?}``; returns their articles.

    Same content again is a no-op; a changed file at the same path (or a record with the same
    url) replaces its old version. Pass ``errors=[]`` to skip bad sources (recorded there)
    instead of stopping at the first.
    """
    if isinstance(sources, (str, dict)):
        sources = [sources]
    return open_store(settings, seed=False).ingest(list(sources), progress=progress, errors=errors)


def get_article(article_id: str, *, settings: Settings | None = None) -> Article:
    return open_store(settings).get_article(article_id)


def list_articles(*, settings: Settings | None = None) -> list[Article]:
    return open_store(settings).list_articles()


def remove(article_id: str, *, settings: Settings | None = None) -> None:
    """Delete an article and all its records (sentences, BM25 rows, vectors)."""
    open_store(settings, seed=False).remove(article_id)
