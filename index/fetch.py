"""Fetching one URL safely: public addresses only, every redirect hop checked, bounded in size
and time.

Each hop resolves its host once, refuses it if any address it resolves to is not public
(loopback, private, link-local, unique-local, multicast, unspecified, reserved; IPv4 and IPv6,
IPv4 inside IPv6 too), then connects to exactly the address it checked and confirms the socket's
peer is that address. A name that resolves to a public address for the check and to a private
one for the connection (DNS rebinding) therefore never reaches the private one. All of this
happens before a byte is sent. ``QA_ALLOW_PRIVATE_URLS=1`` lifts the address rule (intranets,
tests on loopback). Proxies from the environment are not used: through a proxy the address
actually reached could not be checked.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote, urljoin, urlsplit

from index.types import QAError

MAX_REDIRECTS = 5
_PRINTABLE = "".join(map(chr, range(33, 127)))
USER_AGENT = "qa-news/0.1 (+https://github.com/; article question answering)"
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Response:
    url: str  # the final URL, after redirects
    status: int  # 200, or 304 for a conditional request whose answer did not change
    content_type: str  # lower-cased media type without parameters ("" if none given)
    body: bytes
    etag: str | None = None
    last_modified: str | None = None


def address_problem(ip: str) -> str | None:
    """Why ``ip`` is not a public address ("a loopback address"...), or None if it is one."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if addr.version == 6:
        embedded = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(str(embedded))
            return f"{inner} inside an IPv6 address" if inner else None
    for name, test in _KINDS:
        if test(addr):
            return f"{'an' if name[0] in 'aeiou' else 'a'} {name} address"
    return None if addr.is_global else "a non-public address"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS = [("unspecified", lambda a: a.is_unspecified), ("loopback", lambda a: a.is_loopback),
          ("link-local", lambda a: a.is_link_local), ("multicast", lambda a: a.is_multicast),
          ("unique-local", lambda a: a.version == 6 and a in ipaddress.ip_network("fc00::/7")),
          ("reserved", lambda a: a.is_reserved), ("private", lambda a: a.is_private)]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool = False,
          accept: str = "*/*", headers: dict[str, str] | None = None,
          resolver: Resolver = system_resolver) -> Response:
    """GET ``url``, following up to ``MAX_REDIRECTS`` redirects. ``timeout`` bounds the whole
    fetch, not each read, so a server that trickles bytes cannot hold an ingest for longer.
    Raises ``QAError`` with one line naming the URL."""
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        conn = _open(current, url, deadline, timeout, allow_private, resolver)
        try:
            parts = urlsplit(current)
            path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                         safe=_PRINTABLE)  # IRIs from feeds: only spaces and non-ASCII are encoded
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": accept,
                                               "Accept-Encoding": "identity", **(headers or {})})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                target = urljoin(current, resp.getheader("Location").strip())
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise QAError(f"{url}: redirects to {target}, which is not http(s); refused.")
                current = target
                continue
            if resp.status == 304:
                return Response(current, 304, "", b"", resp.getheader("ETag"),
                                resp.getheader("Last-Modified"))
            if resp.status >= 400:
                raise QAError(f"{url}: the server answered HTTP {resp.status} {resp.reason}; "
                              "check the URL.")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise QAError(f"{url}: {mb(int(length))} is over the {mb(max_bytes)} limit; "
                              "raise QA_MAX_FILE_MB to fetch it.")
            body = _read(resp, max_bytes + 1, deadline, url, timeout)
            if len(body) > max_bytes:
                raise QAError(f"{url}: the page is over the {mb(max_bytes)} limit; raise "
                              "QA_MAX_FILE_MB to fetch it.")
            ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
            return Response(current, resp.status, ctype, body, resp.getheader("ETag"),
                            resp.getheader("Last-Modified"))
        except QAError:
            raise
        except (TimeoutError, socket.timeout):
            raise _timed_out(url, timeout) from None
        except (OSError, http.client.HTTPException) as e:
            raise QAError(f"{url}: cannot fetch ({_reason(e)}); check the address and network.") from None
        finally:
            conn.close()
    raise QAError(f"{url}: too many redirects (a redirect loop?); check the URL.")


def _open(current: str, url: str, deadline: float, timeout: float, allow_private: bool,
          resolver: Resolver) -> http.client.HTTPConnection:
    """A connection to ``current``'s host, on an address that passed the rules."""
    try:
        parts = urlsplit(current)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as e:  # a malformed host or port
        raise QAError(f"{url}: not a valid URL ({e}).") from None
    if scheme not in ("http", "https"):
        raise QAError(f"{url}: only http:// and https:// URLs can be ingested.")
    if not host:
        raise QAError(f"{url}: not a valid URL (no host name).")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as e:
        raise QAError(f"{url}: cannot fetch (cannot resolve {host}: {_reason(e)}); check the "
                      "address and network.") from None
    if not addresses:
        raise QAError(f"{url}: cannot fetch ({host} has no address); check the address.")
    if not allow_private:
        for ip in addresses:
            if (why := address_problem(ip)) is not None:
                via = "" if current == url else f" (redirected to {current})"
                named = host if host.strip("[]") == ip else f"{host} ({ip})"
                raise QAError(f"{url}: refused{via}: {named} is {why}; set "
                              "QA_ALLOW_PRIVATE_URLS=1 to fetch from private networks.")
    ip = addresses[0]
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(url, timeout)
    try:
        sock = socket.create_connection((ip, port), timeout=min(left, timeout))
    except (TimeoutError, socket.timeout):
        raise _timed_out(url, timeout) from None
    except OSError as e:
        raise QAError(f"{url}: cannot fetch ({_reason(e)}); check the address and network.") from None
    peer = sock.getpeername()[0]
    if peer != ip or (not allow_private and address_problem(peer)):
        sock.close()  # never happens with an honest socket layer; checked rather than assumed
        raise QAError(f"{url}: refused: connected to {peer}, not the checked address {ip}.")
    if scheme == "https":
        try:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        except (OSError, ssl.SSLError) as e:
            sock.close()
            raise QAError(f"{url}: cannot fetch (TLS: {_reason(e)}); check the address.") from None
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, port, timeout=min(left, timeout))
    conn.sock = sock  # already connected to the checked address: http.client will not reconnect
    return conn


def _read(resp, limit: int, deadline: float, url: str, timeout: float) -> bytes:
    parts, size = [], 0
    while size < limit:
        if time.monotonic() > deadline:
            raise _timed_out(url, timeout)
        part = resp.read1(min(65536, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _timed_out(url: str, timeout: float) -> QAError:
    return QAError(f"{url}: cannot fetch (timed out after {timeout:g} s); check the address or "
                   "raise QA_URL_TIMEOUT.")


def _reason(e) -> str:
    if isinstance(e, TimeoutError) or "timed out" in str(e):
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return " ".join(str(e).split())[:200] or type(e).__name__


def mb(n: float) -> str:
    """Bytes as megabytes, precise enough that a small limit does not print as "0 MB"."""
    return f"{n / 1e6:.3g} MB" if n < 1e7 else f"{n / 1e6:.0f} MB"
