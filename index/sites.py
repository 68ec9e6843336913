"""Sites: which publication an article belongs to, as the site filter compares it.

An article's site key is the host of its URL without "www." ("reuters.com"); an article with no
URL but a site name (a JSON record's "site") uses the lower-cased name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def is_url(value: str | None) -> bool:
    return bool(value) and re.match(r"https?://", value, re.I) is not None


def host(url: str) -> str:
    """Lower-case host name without "www." ("https://www.Reuters.com/x" -> "reuters.com")."""
    text = url.strip() if "://" in url else "http://" + url.strip()
    try:
        name = (urlsplit(text).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return name[4:] if name.startswith("www.") else name


def site_key(url: str | None, site: str | None) -> str | None:
    """What the site filter compares: the host of the article's URL, else its site's name."""
    if url and is_url(url) and host(url):
        return host(url)
    return " ".join(site.split()).lower() if site and site.strip() else None
