"""The articles panel's actions, without gradio: list, add (upload / URL / paste), remove.

Each action returns a one-line status for the page and raises nothing: a bad file or URL is
reported, and the panel stays usable. Parsing is index.loading's; storing is Store's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from index.loading import HTML_EXT, TEXT_EXT, Document, parse
import qa
from index.settings import Settings
from index.types import Article, QAError

log = logging.getLogger("qa.ui")
UPLOAD_TYPES = sorted(TEXT_EXT | HTML_EXT)
Progress = Callable[[int, int], None]


def _store(settings: Settings):
    from qa.api import open_store  # imported late: the index stack is slow to import
    return open_store(settings)


MAX_LISTED = 300  # 10,000 checkboxes make the page slow to load and impossible to scan


def choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) pairs of the most recently added articles (at most ``MAX_LISTED``), newest
    first, for the checkboxes and the remove menu."""
    return [(a.title, a.id) for a in qa.list_articles(settings=settings)[::-1][:MAX_LISTED]]


def count(settings: Settings) -> int:
    return _store(settings).catalog.count()


def _added(articles: list[Article], errors: list[str]) -> str:
    parts = [f"Added “{a.title}” ({len(a.sentences)} sentences)." for a in articles]
    parts += [f"Skipped: {e}" for e in errors]
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


def add_url(url: str, settings: Settings, progress: Progress | None = None) -> str:
    url = (url or "").strip()
    if not url:
        return "Type a URL first."
    return _guard(lambda: _added(qa.ingest([url], settings=settings, progress=progress), []))


def add_text(title: str, text: str, settings: Settings, progress: Progress | None = None) -> str:
    """Index pasted text under the given title (or its first line)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return "Paste the article text first."
    if len(text.encode("utf-8")) > settings.max_file_mb * 1e6:
        return f"Error: the text is over the {settings.max_file_mb:g} MB limit (QA_MAX_FILE_MB)."

    def run() -> str:
        doc = next(parse(text.encode("utf-8"), ".txt", source="", default_title="Pasted text"))
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
