"""Turn sources (files, folders, URLs, JSON/JSONL batches) into plain documents.

Every refusal is a ``QAError`` with one line that names the source and what to do. Loading
never touches the index, so a bad source cannot harm what is stored.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import stat
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from index.types import QAError

TEXT_EXT = {".txt", ".md", ".markdown", ".text"}
HTML_EXT = {".html", ".htm", ".xhtml"}
JSON_EXT = {".json", ".jsonl", ".ndjson"}
SUPPORTED = TEXT_EXT | HTML_EXT | JSON_EXT
URL_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown",
             "application/json", "application/x-ndjson")


@dataclass(frozen=True)
class Document:
    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None


def load(source: str, *, max_bytes: int, timeout: float) -> Iterator[Document]:
    """Documents from one file or URL (``Store.ingest`` expands folders with ``iter_folder``)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        yield from load_url(source, max_bytes=max_bytes, timeout=timeout)
        return
    path = Path(source).expanduser()
    if not path.exists():
        if path.is_symlink():
            raise QAError(f"{source}: a broken symlink or symlink loop; point it at a real file.")
        raise QAError(f"{source}: no such file or folder; check the path.")
    if path.is_dir():
        raise QAError(f"{source}: is a folder; ingest it with qa ingest or qa.ingest, which read folders.")
    yield from load_file(path, max_bytes=max_bytes)


def iter_folder(folder: Path) -> Iterator[Path]:
    """Supported files under ``folder``, sorted; symlinked folders are not followed (no loops)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in SUPPORTED and not name.startswith("."):
                yield p


def load_file(path: Path, *, max_bytes: int) -> Iterator[Document]:
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise QAError(f"{path}: unsupported file type {ext or '(none)'}; use "
                      + ", ".join(sorted(SUPPORTED)) + ".")
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise QAError(f"{path}: not a regular file (pipe, device or socket); give a text file.")
        if st.st_size > max_bytes:
            raise QAError(f"{path}: {_mb(st.st_size)} is over the {_mb(max_bytes)} limit; "
                          "split it or raise QA_MAX_FILE_MB.")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the file may grow between stat and read
        if len(data) > max_bytes:
            raise QAError(f"{path}: over the {_mb(max_bytes)} limit; split it or raise QA_MAX_FILE_MB.")
    except OSError as e:
        raise QAError(f"{path}: cannot read ({e.strerror or e}); check permissions.") from None
    yield from parse(data, ext, source=str(path), default_title=path.stem)


def _mb(n: float) -> str:
    """Bytes as megabytes, precise enough that a small limit does not print as "0 MB"."""
    return f"{n / 1e6:.3g} MB" if n < 1e7 else f"{n / 1e6:.0f} MB"


def load_url(url: str, *, max_bytes: int, timeout: float) -> Iterator[Document]:
    """One page. ``timeout`` bounds the whole fetch, not each read: a server that trickles
    bytes cannot hold an ingest for longer."""
    if not re.match(r"^https?://", url, re.I):
        raise QAError(f"{url}: only http:// and https:// URLs can be ingested.")
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_HttpOnlyRedirects())
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "qa-news/0.1",
                                                   "Accept": ", ".join(URL_TYPES)})
        with opener.open(req, timeout=timeout) as resp:
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype and ctype not in URL_TYPES:
                raise QAError(f"{url}: content type {ctype} is not text or HTML; give a page or text file.")
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise QAError(f"{url}: {_mb(int(length))} is over the {_mb(max_bytes)} limit; "
                              "raise QA_MAX_FILE_MB to fetch it.")
            data = _read_until(resp, max_bytes + 1, deadline, url, timeout)
            final = resp.geturl()
    except QAError:
        raise
    except urllib.error.HTTPError as e:
        if 300 <= e.code < 400 and "not allowed" in str(e.msg):  # urllib's own scheme check
            raise QAError(f"{url}: redirects to an address that is not http(s); refused.") from None
        if 300 <= e.code < 400:
            raise QAError(f"{url}: too many redirects (a redirect loop?); check the URL.") from None
        raise QAError(f"{url}: the server answered HTTP {e.code} {e.reason}; check the URL.") from None
    except urllib.error.URLError as e:
        raise QAError(f"{url}: cannot fetch ({_reason(e.reason)}); check the address and network.") from None
    except (TimeoutError, OSError, http.client.HTTPException) as e:
        raise QAError(f"{url}: cannot fetch ({_reason(e)}); check the address and network.") from None
    except ValueError as e:  # e.g. a malformed host or port
        raise QAError(f"{url}: not a valid URL ({e}).") from None
    if len(data) > max_bytes:
        raise QAError(f"{url}: the page is over the {_mb(max_bytes)} limit; raise QA_MAX_FILE_MB "
                      "to fetch it.")
    ext = {"text/plain": ".txt", "text/markdown": ".md", "application/json": ".json",
           "application/x-ndjson": ".jsonl"}.get(ctype, ".html")
    docs = list(parse(data, ext, source=url, default_title=url))
    yield from (Document(d.title, d.text, d.source, d.url or final, d.published) for d in docs)


def _read_until(resp, limit: int, deadline: float, url: str, timeout: float) -> bytes:
    parts, size = [], 0
    while size < limit:
        if time.monotonic() > deadline:
            raise QAError(f"{url}: cannot fetch (timed out after {timeout:g} s); check the address "
                          "or raise QA_URL_TIMEOUT.")
        part = resp.read1(min(65536, limit - size)) if hasattr(resp, "read1") else resp.read(65536)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not re.match(r"^https?://", newurl, re.I):
            raise QAError(f"{req.full_url}: redirects to {newurl}, which is not http(s); refused.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _reason(r) -> str:
    if isinstance(r, TimeoutError) or "timed out" in str(r):
        return "timed out"
    return " ".join(str(r).split())[:200] or type(r).__name__


def parse(data: bytes, ext: str, *, source: str, default_title: str) -> Iterator[Document]:
    text = decode(data, source)
    if ext in JSON_EXT:
        yield from _records(text, source)
        return
    if ext in HTML_EXT:
        title, body = html_to_text(text)
        if not body.strip():
            raise QAError(f"{source}: the page has no readable text (only scripts or markup).")
        yield Document(title or _first_line(body) or default_title, body, source)
        return
    if not text.strip():
        raise QAError(f"{source}: the file is empty.")
    yield Document(_first_line(text) or default_title, text, source)


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
    """Lone surrogates (from JSON escapes or bad UTF-16) become U+FFFD: they cannot be stored,
    embedded or printed."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _records(text: str, source: str) -> Iterator[Document]:
    try:
        try:
            data = json.loads(text)
            items = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:  # JSON lines: one record per line
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise QAError(f"{source}: invalid JSON at line {e.lineno}; expected records "
                      '{"title", "text", "url"?, "published"?}.') from None
    for n, it in enumerate(items, 1):
        yield record(it, f"{source}#{n}", f"{source}: record {n}")


def record(item, source: str, name: str = "the record") -> Document:
    """A document from one record ``{"title", "text", "url"?, "published"?}``; ``name`` says
    which record in the error."""
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
        raise QAError(f'{name} has no "text" string; each record needs title and text.')
    body = clean_text(item["text"])
    title = clean_text(str(item.get("title") or "")).strip() or _first_line(body)
    url = item.get("url")
    return Document(title, body, source, clean_text(url) if isinstance(url, str) else None,
                    None if item.get("published") is None else clean_text(str(item["published"])))


def _first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"
    return ""


_SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg",
         "template", "iframe", "button", "select", "menu", "figure"}
_BLOCK = {"p", "div", "section", "article", "main", "br", "li", "ul", "ol", "h1", "h2", "h3",
          "h4", "h5", "h6", "blockquote", "tr", "table", "pre", "hr", "dd", "dt", "title"}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: dict[str, list[str]] = {"all": [], "main": []}
        self.skip = 0
        self.main = 0
        self.title: list[str] = []
        self.in_title = False
        self.h1: list[str] = []
        self.in_h1 = False

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag in ("article", "main"):
            self.main += 1
        if tag == "title":
            self.in_title = True
        if tag == "h1":
            self.in_h1 = True
        if tag in _BLOCK:
            self._emit("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr"):
            self._emit("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("article", "main"):
            self.main = max(0, self.main - 1)
        if tag == "title":
            self.in_title = False
        if tag == "h1":
            self.in_h1 = False
        if tag in _BLOCK:
            self._emit("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
            return
        if self.skip:
            return
        if self.in_h1:
            self.h1.append(data)
        self._emit(data)

    def _emit(self, s: str) -> None:
        self.parts["all"].append(s)
        if self.main:
            self.parts["main"].append(s)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, main text) of a page: <article>/<main> if present, without menus and scripts."""
    p = _Extractor()
    p.feed(html)
    p.close()
    main = _tidy("".join(p.parts["main"]))
    body = main if len(main) > 200 else _tidy("".join(p.parts["all"]))
    title = " ".join("".join(p.title).split()) or " ".join("".join(p.h1).split())
    return title, body


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
