"""The public functions behind ``qa``: ask, ingest, follow, get_article, list_articles, remove.

Each takes an optional ``settings`` (default: ``Settings.from_env()``). Stores are opened once
per (data folder, Chroma URL, database URL, model) and reused, so a warm ``ask`` pays only for
the query; a store caches no articles, so replicas sharing a database and a Chroma server agree.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import date
from typing import Callable, Iterable

from index import dates
from index.feed_entries import EntryProgress
from index.feed_poll import poll_feed
from index.loading import clean_text
from index.sentences import sentence_key
from index.settings import Settings
from index.store import Store
from index.types import Answer, Article, FeedPoll, QAError, Scope, Story, UnavailableError
from qa import extractive, generative, periods
from qa.developing import compose
from qa.rerank import keeps_context, rerank
from qa.retrieve import Candidate, retrieve, retrieval_query

IN_STORY = 4  # sentences read per story article the first search missed (see qa.developing)
MAX_QUESTION_CHARS = 2000  # longer questions are cut: the embedder reads 128 tokens anyway

_stores: dict[tuple, Store] = {}
_lock = threading.Lock()


def open_store(settings: Settings | None = None, *, seed: bool = True) -> Store:
    """The (cached) store for these settings; seeds a data folder nothing was ever written to.

    Seeding is ``qa ingest QA_SEED_DIR`` and happens once: a user who removes the seed article
    does not get it back.
    """
    s = settings or Settings.from_env()
    key = _key(s)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = Store(s)
        if seed and s.seed_dir and store.never_written():
            if not s.seed_dir.is_dir():
                raise UnavailableError(f"QA_SEED_DIR {s.seed_dir} is not a folder; fix it or set "
                                       "QA_SEED_DIR=''.")
            store.ingest([str(s.seed_dir)])
    return store


def check_ready(settings: Settings | None = None) -> None:
    """Raise ``UnavailableError`` unless the catalog and the vector store answer now: a load
    balancer's readiness probe. Opens the store if no one has (as the first ask would) but never
    waits behind another thread that is opening or seeding it: a probe must answer quickly."""
    s = settings or Settings.from_env()
    store = _stores.get(_key(s))
    if store is None:
        if _lock.locked():
            raise UnavailableError("the index is still opening; try again in a few seconds.")
        store = open_store(s)
    try:
        store.catalog.get_meta("index_id")  # one row: reaches the catalog, costs nothing
        store.vectors.count()  # Chroma keeps the count: reaches the server, scans nothing
    except QAError:
        raise
    except Exception as e:  # a database driver's own error types: all mean "not reachable"
        raise UnavailableError(f"the index is not answering ({type(e).__name__}: "
                               f"{str(e).splitlines()[0][:200] if str(e) else ''}).") from None


def close_store(settings: Settings) -> None:
    """Forget the cached store for these settings (e.g. before deleting its folder)."""
    with _lock:
        store = _stores.pop(_key(settings), None)
    if store is not None:
        store.catalog.close()


def _key(s: Settings) -> tuple:
    return str(s.data_dir), s.chroma_url, s.database_url, s.embed_model


def upgrade_catalog(settings: Settings | None = None) -> tuple[str, int, int]:
    """``qa db upgrade``: bring the catalog's schema up to date; (where, before, after)."""
    from index.catalogs import open_catalog
    catalog = open_catalog(settings or Settings.from_env(), migrate=True)
    try:
        before, after = catalog.upgrade()
        return catalog.where, before, after
    finally:
        catalog.close()


def ask(question: str, *, history: Iterable | None = None, article_ids: list[str] | None = None,
        since: str | None = None, until: str | None = None, sites: list[str] | None = None,
        settings: Settings | None = None, llm: str | None = None,
        on_token: Callable[[str], None] | None = None, today: str | None = None) -> Answer:
    """Answer ``question`` from the indexed articles, citing sentences.

    A question about a developing story is answered from its newest article that states the
    fact ("As of 12 March 2025 (Harbor Gazette): ..."); one naming a date or period ("by 3
    March", "last week") from what was published by then; sources that disagree are shown
    side by side; "What has happened in X so far?" gets a dated timeline (``qa.developing``).

    history: earlier turns, as strings (the user's questions), (question, answer) pairs, or
        chat messages ``{"role": ..., "content": ...}``; used to read follow-up questions.
    article_ids: restrict the answer to these articles.
    since, until: only articles published on or after / on or before these days (YYYY-MM-DD);
        articles without a date are left out when either is given.
    sites: only articles from these sites: hosts ("reuters.com" also matches
        "uk.reuters.com") or site names ("Reuters").
    llm: "openai" / "llamacpp" for a generative answer, "none" for extractive; default from
        ``QA_LLM``. on_token receives streamed text in generative mode.
    today: the day the question is asked (YYYY-MM-DD; default: today's date), which relative
        periods ("last week", "yesterday") count from; when given, a story's articles published
        after it are not used (the answer is what was known that day).
    """
    s = settings or Settings.from_env()
    q = clean_question(question)
    store = open_store(s)
    day = date.fromisoformat(dates.parse_day(today, "today")) if today not in (None, "") else date.today()
    period = periods.parse(q, day)
    scope = store.scope(article_ids, since, until, sites)
    if not scope.is_empty() and store.catalog.count_in(scope) == 0:
        return Answer(q, extractive.NOT_FOUND, (), abstained=True,
                      notice=f"No article matches {describe(scope, since, until, sites)}.")
    asked = q
    if period.dated:  # the question's own period narrows the scope, when any article is in it
        narrowed = replace(scope, since=max(filter(None, (scope.since, period.since)), default=None),
                           until=min(filter(None, (scope.until, period.until)), default=None))
        if store.catalog.count_in(narrowed):
            scope, asked = narrowed, period.text
        else:
            period = replace(period, since=None, until=None)
    past = user_turns(history)
    choice = llm if llm is not None else s.llm
    ranked: list[Candidate] = []
    top = s.rerank_top if s.reranker != "off" else 10  # candidates a question's search keeps

    def search(query: str, history: list[str] = past):
        def reading(turns: list[str]) -> list[Candidate]:
            found = retrieve(store, query, history=turns, scope=scope, limit=top)
            return rerank(query, distinct(found), s)
        if not history or retrieval_query(query, history) == query:
            ranked[:] = reading(history)
        else:
            # A short question may lean on the previous one ("and how many were injured?") or
            # stand alone ("how long was the call?"): the reader reads it both ways, and the
            # previous question's article decides (qa.rerank.keeps_context).
            before = retrieve(store, history[-1], scope=scope, limit=1)
            with_context, alone = reading(history), reading([])
            keep = keeps_context(query, with_context, alone, before[0].article_id if before else None, s)
            ranked[:] = with_context if keep else alone
        return list(ranked)

    def dated_search(query: str, history: list[str] = past):  # the model is shown dates and sites
        found = search(query, history)
        meta = store.catalog.metadata(list({c.article_id for c in found}))
        for c in found:
            c.published, c.site = meta.get(c.article_id, (None, None))[:2]
        return found

    if generative.wanted(choice):  # falls back to the extractive answer, with a notice
        answer = generative.ask(q, history, dated_search, s, choice, on_token)
    else:
        answer = replace(extractive.answer(asked, search(asked), s), question=q)
    answer = with_sources(answer, store)

    def search_in(ids: list[str]) -> list[Candidate]:  # a few sentences per article: the reader's
        found = retrieve(store, asked, scope=replace(scope, article_ids=tuple(ids)),  # time is per row
                         limit=min(top, IN_STORY * len(ids)))
        return rerank(asked, distinct(found), s)

    # a question asked on a given day knows only what was published by then: with an explicit
    # ``today`` the story's later articles are left out (the question's own period is kept)
    known = replace(period, until=min(filter(None, (period.until, day.isoformat())))) \
        if today not in (None, "") else period
    return replace(compose(known, ranked, answer, store, s.max_citations, search_in),
                   since=period.since, until=period.until)


def distinct(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates without second copies of a sentence (a paragraph two stories share):
    an answer never cites one sentence twice."""
    seen: set[str] = set()
    out = []
    for c in candidates:
        key = sentence_key(c.text)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def with_sources(answer: Answer, store: Store) -> Answer:
    """The answer with each citation's article metadata (date, site, author, URL)."""
    if not answer.citations:
        return answer
    meta = store.catalog.metadata(list({c.article_id for c in answer.citations}))
    return replace(answer, citations=tuple(
        replace(c, **dict(zip(("published", "site", "author", "url"), meta[c.article_id])))
        if c.article_id in meta else c for c in answer.citations))


def describe(scope: Scope, since, until, sites) -> str:
    parts = []
    if scope.article_ids is not None:
        parts.append(f"the {len(scope.article_ids)} chosen article(s)")
    if sites:
        parts.append("site " + ", ".join(sites if isinstance(sites, list) else [sites]))
    if scope.since or scope.until:
        parts.append(f"dates {scope.since or '...'} to {scope.until or '...'}")
    return " and ".join(parts) or "these filters"


def clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QAError("the question must be text.")
    # control characters (NUL too, which clean_text would keep as U+FFFD) are spaces in a question
    q = clean_text(re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question))
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
    return [q for q in map(_turn_text, out) if q]


def _turn_text(turn: str) -> str:
    """An earlier question, cleaned; "" for one with nothing in it (skipped, not refused)."""
    try:
        return clean_question(turn)
    except QAError:
        return ""


def ingest(sources: str | dict | Iterable[str | dict], *, settings: Settings | None = None,
           progress: Callable[[int, int], None] | None = None,
           errors: list[tuple[str, str]] | None = None, limit: int | None = None,
           on_entry: EntryProgress | None = None) -> list[Article]:
    """Index files, folders, URLs, RSS/Atom/RDF feeds, JSON/JSONL batches or records
    ``{"title", "text", "url"?, "published"?, "site"?, "author"?}``; returns their articles.

    Same content again is a no-op; a changed file at the same path (or a record with the same
    url) replaces its old version; a near-identical copy of a stored story only adds its URL
    to it. A feed brings in its entries' articles (the first ``limit``);
    ``on_entry(done, total, title)`` hears of each. Pass ``errors=[]`` to skip bad sources
    (recorded there) instead of stopping at the first.
    """
    if isinstance(sources, (str, dict)):
        sources = [sources]
    return open_store(settings, seed=False).ingest(list(sources), progress=progress, errors=errors,
                                                   limit=limit, on_entry=on_entry)


def follow(feeds: str | Iterable[str], *, every: float = 1800.0, settings: Settings | None = None,
           on_poll: Callable[[FeedPoll], None] | None = None, limit: int | None = None,
           polls: int | None = None, stop: threading.Event | None = None) -> None:
    """Poll feeds every ``every`` seconds and ingest their new entries, until ``stop`` is set,
    ``polls`` rounds are done, or KeyboardInterrupt. ``on_poll`` hears of each feed's poll."""
    feeds = [feeds] if isinstance(feeds, str) else list(feeds)
    if not feeds:
        raise QAError("give at least one feed URL to follow.")
    store = open_store(settings, seed=False)
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set():
        for url in feeds:
            result = poll_feed(store, url, limit=limit)
            if on_poll:
                on_poll(result)
            if stop.is_set():
                return
        done += 1
        if polls is not None and done >= polls:
            return
        stop.wait(every)


def get_article(article_id: str, *, settings: Settings | None = None) -> Article:
    return open_store(settings).get_article(article_id)


def list_articles(*, settings: Settings | None = None, search: str = "",
                  limit: int | None = None) -> list[Article]:
    """Articles newest first (by publication date; undated ones last, latest added first),
    only those whose title or site contains ``search`` when given."""
    return open_store(settings).list_articles(search, limit)


def stories(*, settings: Settings | None = None, search: str = "",
            limit: int | None = None) -> list[Story]:
    """Stories (articles grouped at ingest) newest first, only those with an article whose
    title or site contains ``search`` when given."""
    return open_store(settings).stories(search, limit)


def story(story_id: str, *, settings: Settings | None = None) -> tuple[Story, list[Article]]:
    """A story and its articles (without texts), oldest first."""
    return open_store(settings).story(story_id)


def stories_of(article_ids: list[str], *, settings: Settings | None = None) -> dict[str, Story]:
    """article id -> its story, for the given articles that share a story with others."""
    catalog = open_store(settings).catalog
    sid = catalog.stories_of(article_ids)
    wanted = sorted(set(sid.values()))
    found = {st.id: st for i in range(0, len(wanted), 500)  # SQLite's limit on variables
             for st in catalog.stories(story_ids=wanted[i:i + 500])}
    return {aid: found[s] for aid, s in sid.items() if s in found and found[s].articles > 1}


def move_article(article_id: str, story_id: str | None = None, *,
                 settings: Settings | None = None) -> Story:
    """Move an article into another story, or (``story_id`` None) out into one of its own;
    a moved article stays where it was put. Returns its new story."""
    return open_store(settings, seed=False).move_article(article_id, story_id)


def remove(article_id: str, *, settings: Settings | None = None) -> None:
    """Delete an article and all its records (sentences, BM25 rows, vectors)."""
    open_store(settings, seed=False).remove(article_id)
