"""Turn sources (files, folders, URLs, feeds, JSON/JSONL batches) into documents.

Every refusal is a ``QAError`` with one line that names the source and what to do. Loading
never touches the index, so a bad source cannot harm what is stored. A feed (recognised by its
content, whatever its URL or file name) comes back as a ``Feed``: its entries' articles are
fetched by ``index.feed_entries``, which knows which ones are already stored.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from index import dates
from index.extract import extract_page
from index.feeds import looks_like_feed, parse_feed
from index.fetch import fetch, mb
from index.types import Document, Feed, Limits, QAError

TEXT_EXT = {".txt", ".md", ".markdown", ".text"}
HTML_EXT = {".html", ".htm", ".xhtml"}
JSON_EXT = {".json", ".jsonl", ".ndjson"}
FEED_EXT = {".xml", ".rss", ".atom", ".rdf"}
FOLDER_EXT = TEXT_EXT | HTML_EXT | JSON_EXT  # what a folder walk picks up
SUPPORTED = FOLDER_EXT | FEED_EXT  # what a file named on its own may be
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/xml", "text/xml", "application/feed+xml")
URL_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown",
             "application/json", "application/x-ndjson", *FEED_TYPES)


def load(source: str, limits: Limits) -> list[Document] | Feed:
    """Documents from one file or URL, or the feed it is (``Store.ingest`` expands folders)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        return load_url(source, limits)
    path = Path(source).expanduser()
    if not path.exists():
        if path.is_symlink():
            raise QAError(f"{source}: a broken symlink or symlink loop; point it at a real file.")
        raise QAError(f"{source}: no such file or folder; check the path.")
    if path.is_dir():
        raise QAError(f"{source}: is a folder; ingest it with qa ingest or qa.ingest, which read folders.")
    return load_file(path, limits)


def iter_folder(folder: Path) -> Iterator[Path]:
    """Article files under ``folder``, sorted; symlinked folders are not followed (no loops).
    Feed files are read only when named: a folder's .xml files are rarely feeds."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in FOLDER_EXT and not name.startswith("."):
                yield p


def load_file(path: Path, limits: Limits) -> list[Document] | Feed:
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise QAError(f"{path}: unsupported file type {ext or '(none)'}; use "
                      + ", ".join(sorted(SUPPORTED)) + ".")
    max_bytes = limits.max_bytes
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise QAError(f"{path}: not a regular file (pipe, device or socket); give a text file.")
        if st.st_size > max_bytes:
            raise QAError(f"{path}: {mb(st.st_size)} is over the {mb(max_bytes)} limit; "
                          "split it or raise QA_MAX_FILE_MB.")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the file may grow between stat and read
        if len(data) > max_bytes:
            raise QAError(f"{path}: over the {mb(max_bytes)} limit; split it or raise QA_MAX_FILE_MB.")
    except OSError as e:
        raise QAError(f"{path}: cannot read ({e.strerror or e}); check permissions.") from None
    if ext in FEED_EXT or looks_like_feed(data):
        if not looks_like_feed(data):
            raise QAError(f"{path}: not an RSS, Atom or RDF feed; give a feed or an article file.")
        return parse_feed(data, str(path), max_entries=limits.max_entries)
    return parse(data, ext, source=str(path), default_title=path.stem)


def load_url(url: str, limits: Limits) -> list[Document] | Feed:
    """One page or feed, fetched under the address rules of ``index.fetch``."""
    if not re.match(r"^https?://", url, re.I):
        raise QAError(f"{url}: only http:// and https:// URLs can be ingested.")
    resp = fetch(url, max_bytes=limits.max_bytes, timeout=limits.timeout,
                 allow_private=limits.allow_private, accept=", ".join(URL_TYPES))
    return from_response(url, resp.url, resp.content_type, resp.body, limits)


def from_response(url: str, final: str, ctype: str, body: bytes, limits: Limits
                  ) -> list[Document] | Feed:
    """What a fetched body is: a feed (by its content, whatever its type), or a page or text
    file whose documents know both the URL asked for and the one finally answered."""
    if looks_like_feed(body):
        return parse_feed(body, final, max_entries=limits.max_entries)
    if ctype and ctype not in URL_TYPES:
        raise QAError(f"{url}: content type {ctype} is not text, HTML or a feed; give a page, "
                      "a feed or a text file.")
    if ctype in FEED_TYPES:
        raise QAError(f"{url}: XML that is not an RSS, Atom or RDF feed; give a page or a feed.")
    ext = {"text/plain": ".txt", "text/markdown": ".md", "application/json": ".json",
           "application/x-ndjson": ".jsonl"}.get(ctype, ".html")
    docs = parse(body, ext, source=url, default_title=url, url=final)
    seen = {url, final}
    return [replace(d, url=d.url or final,
                    urls=tuple(dict.fromkeys(u for u in (*d.urls, *seen) if u != (d.url or final))))
            for d in docs]


def parse(data: bytes, ext: str, *, source: str, default_title: str,
          url: str | None = None) -> list[Document]:
    text = decode(data, source)
    if ext in JSON_EXT:
        return list(_records(text, source))
    if ext in HTML_EXT:
        return [extract_page(text, source=source, url=url, default_title=default_title)]
    if not text.strip():
        raise QAError(f"{source}: the file is empty.")
    return [Document(_first_line(text) or default_title, text, source)]


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM, or UTF-16 with BOM); else Windows-1252/Latin-1; binary refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    sample = data[:8192]
    if b"\x00" in sample or sample.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8")):
        raise QAError(f"{source}: looks like a binary file (PDF, image, archive...); give plain text, "
                      "Markdown or HTML.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # superset of Latin-1's printable range
    text = clean_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\t\f\v")
    if controls > 0.05 * max(1, min(len(text), 8192)):
        raise QAError(f"{source}: looks like a binary file; give plain text, Markdown or HTML.")
    return text


def clean_text(text: str) -> str:
    """Lone surrogates (from JSON escapes or bad UTF-16) and NUL characters become U+FFFD: they
    cannot be stored (PostgreSQL text refuses NUL), embedded or printed. One character for one,
    so offsets are unchanged."""
    return _UNSTORABLE.sub("\ufffd", text)


_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _records(text: str, source: str) -> Iterator[Document]:
    try:
        try:
            data = json.loads(text)
            items = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:  # JSON lines: one record per line
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise QAError(f"{source}: invalid JSON at line {e.lineno}; expected records "
                      '{"title", "text", "url"?, "published"?, "site"?, "author"?}.') from None
    for n, it in enumerate(items, 1):
        yield record(it, f"{source}#{n}", f"{source}: record {n}")


def record(item, source: str, name: str = "the record") -> Document:
    """A document from one record ``{"title", "text", "url"?, "published"?, "site"?,
    "author"?}``; ``name`` says which record in the error."""
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
        raise QAError(f'{name} has no "text" string; each record needs title and text.')
    body = clean_text(item["text"])
    title = clean_text(str(item.get("title") or "")).strip() or _first_line(body)
    published = None
    if item.get("published") not in (None, ""):
        published = dates.normalise(str(item["published"]))
        if published is None:
            raise QAError(f'{name}: "published" {str(item["published"])[:40]!r} is not a date; '
                          "write it as ISO 8601, e.g. 2025-03-19 or 2025-03-19T14:05:00Z.")
    return Document(title, body, source, _str(item.get("url")), published, _str(item.get("site")),
                    _str(item.get("author")))


def _str(value) -> str | None:
    return " ".join(clean_text(value).split()) or None if isinstance(value, str) else None


def _first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"
    return ""
