"""The articles panel's actions, without gradio: list and search, add (upload / URL or feed /
paste), remove.

Each action returns a one-line status for the page and raises nothing: a bad file or URL is
reported, and the panel stays usable. Parsing is index.loading's; storing is Store's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from index.loading import HTML_EXT, TEXT_EXT, parse
import qa
from index.settings import Settings
from index import dates
from index.types import Article, Document, QAError, Story
from ui.ops import count_ingested
from ui.render import origin

log = logging.getLogger("qa.ui")
UPLOAD_TYPES = sorted(TEXT_EXT | HTML_EXT)
Progress = Callable[[int, int], None]


def _store(settings: Settings):
    from qa.api import open_store  # imported late: the index stack is slow to import
    return open_store(settings)


MAX_LISTED = 300  # 10,000 checkboxes make the page slow to load and impossible to scan


def label(a: Article, story: Story | None = None) -> str:
    """ "Title — Site, 12 March 2025 · story: 4 articles, 3-12 March 2025" """
    where = origin(a.site, a.published)
    text = f"{a.title} — {where}" if where else a.title
    if story is not None:
        text += f" · story: {story.articles} articles, {dates.span(story.first, story.last)}"
    return text


def choices(settings: Settings, search: str = "", keep: list[str] | None = None
            ) -> list[tuple[str, str]]:
    """(label, id) pairs of the newest articles (at most ``MAX_LISTED``), only those whose
    title or site contains ``search`` when given, for the checkboxes and the remove menu.
    Articles in ``keep`` (ticked ones) stay listed, first, whatever the search."""
    listed_articles = qa.list_articles(settings=settings, search=search or "", limit=MAX_LISTED)
    stories = qa.stories_of([a.id for a in listed_articles], settings=settings)
    found = [(label(a, stories.get(a.id)), a.id) for a in listed_articles]
    listed = {aid for _, aid in found}
    kept = []
    for aid in keep or []:
        if aid not in listed:
            try:
                kept.append((label(qa.get_article(aid, settings=settings)), aid))
            except QAError:  # removed meanwhile: it drops out of the ticked ones
                pass
    return kept + found


def sites(settings: Settings) -> list[tuple[str, str]]:
    """(label, site key) of every site stored, for the site filter."""
    return [(f"{name} ({key}, {n})" if name != key else f"{key} ({n})", key)
            for key, name, n in _store(settings).catalog.sites()]


def count(settings: Settings) -> int:
    return _store(settings).catalog.count()


def _added(articles: list[Article], errors: list[str]) -> str:
    """One status line; a feed's hundred articles are counted, not listed. Every add action
    ends here, so this is also where the page's ingests are counted for /metrics."""
    count_ingested(len(articles))
    if len(articles) <= 3:
        parts = [f"Added “{a.title}” ({len(a.sentences)} sentences)." for a in articles]
    else:
        parts = [f"Added {len(articles)} articles: " + ", ".join(f"“{a.title}”" for a in articles[:3])
                 + f" and {len(articles) - 3} more."]
    parts += [f"Skipped: {e}" for e in errors[:3]]
    if len(errors) > 3:
        parts.append(f"({len(errors) - 3} more skipped.)")
    return " ".join(parts) or "Nothing to add."


def _guard(action: Callable[[], str]) -> str:
    try:
        return action()
    except QAError as e:
        return f"Error: {e}"
    except Exception as e:  # keep the page alive; the log has the details
        log.exception("article action failed")
        return f"Error: {type(e).__name__}; see the server log."


def add_uploads(paths: list[str], settings: Settings, progress: Progress | None = None) -> str:
    """Index uploaded files; each keeps its own name as its source."""
    def run() -> str:
        limit = int(settings.max_file_mb * 1e6)
        docs, errors = [], []
        for p in paths or []:
            path = Path(p)
            ext = path.suffix.lower()
            try:
                if ext not in UPLOAD_TYPES:
                    raise QAError(f"{path.name}: unsupported file type; upload "
                                  + ", ".join(UPLOAD_TYPES) + ".")
                if path.stat().st_size > limit:
                    raise QAError(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB is over the "
                                  f"{settings.max_file_mb:g} MB upload limit (QA_MAX_FILE_MB).")
                docs.extend(parse(path.read_bytes(), ext, source=f"upload:{path.name}",
                                  default_title=path.stem))
            except QAError as e:
                errors.append(str(e))
        if not docs and not errors:
            return "Choose a file first."
        added = _store(settings).add_documents(docs, progress=progress) if docs else []
        return _added(added, errors)
    return _guard(run)


def add_url(url: str, settings: Settings, progress: Progress | None = None,
            on_entry: Callable[[int, int, str], None] | None = None) -> str:
    """Index a page, or every entry of a feed (``on_entry`` hears of each one read)."""
    url = (url or "").strip()
    if not url:
        return "Type a URL first."

    def run() -> str:
        errors: list[tuple[str, str]] = []
        added = qa.ingest([url], settings=settings, progress=progress, errors=errors,
                          on_entry=on_entry)
        if not added and errors and len(errors) == 1 and errors[0][0] == url:
            raise QAError(errors[0][1])
        return _added(added, [m for _, m in errors])
    return _guard(run)


def add_text(title: str, text: str, settings: Settings, progress: Progress | None = None) -> str:
    """Index pasted text under the given title (or its first line)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return "Paste the article text first."
    if len(text.encode("utf-8")) > settings.max_file_mb * 1e6:
        return f"Error: the text is over the {settings.max_file_mb:g} MB limit (QA_MAX_FILE_MB)."

    def run() -> str:
        [doc] = parse(text.encode("utf-8"), ".txt", source="", default_title="Pasted text")
        if (title or "").strip():
            doc = Document(title.strip(), doc.text, doc.source)
        return _added(_store(settings).add_documents([doc], progress=progress), [])
    return _guard(run)


def remove(article_id: str | None, settings: Settings) -> str:
    if not article_id:
        return "Choose an article to remove."

    def run() -> str:
        title = qa.get_article(article_id, settings=settings).title
        qa.remove(article_id, settings=settings)
        return f"Removed “{title}”."
    return _guard(run)
