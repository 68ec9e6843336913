"""Safe fetching: which addresses are refused, that the address checked is the address
connected to, and that loopback targets (direct or by redirect) are refused before a byte goes
out. Only loopback is ever contacted; "public" addresses below are classified, or reached
through a stand-in socket that never touches the network."""

from __future__ import annotations

import socket
import threading

import pytest

from index import fetch as fetch_module
from index.fetch import address_problem, fetch, system_resolver
from index.settings import Settings
from index.types import QAError
from news_fixtures import NewsServer
from qa import api

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize("ip,kind", [
    ("169.254.169.254", "link-local"), ("10.0.0.1", "private"), ("10.255.255.255", "private"),
    ("172.16.5.4", "private"), ("192.168.1.10", "private"), ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("::1", "loopback"), ("fd00::1", "unique-local"), ("fc12:3456::1", "unique-local"),
    ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"), ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "non-public"), ("192.0.2.7", "private"),
    ("::ffff:10.0.0.1", "private address inside an IPv6"), ("::ffff:127.0.0.1", "loopback address inside"),
    ("::ffff:169.254.169.254", "link-local address inside"), ("2002:a00:1::1", "private address inside"),
    ("64:ff9b::a9fe:a9fe", "link-local address inside"),
])
def test_non_public_addresses_are_named(ip, kind):
    assert kind in (address_problem(ip) or "public")


@pytest.mark.parametrize("ip", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
                                "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_pass(ip):
    assert address_problem(ip) is None


@pytest.fixture
def no_connect(monkeypatch):
    """Records connection attempts and refuses them: nothing leaves the process."""
    tried = []

    def refuse(address, *a, **k):
        tried.append(address)
        raise ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(fetch_module.socket, "create_connection", refuse)
    return tried


def stub(answers):
    calls = []

    def resolve(host, port):
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]
    resolve.calls = calls
    return resolve


@pytest.mark.parametrize("answer", [["10.1.2.3"], [PUBLIC, "10.0.0.5"], ["::ffff:192.168.0.1"]])
def test_name_resolving_to_a_private_address_is_refused_without_connecting(no_connect, answer):
    with pytest.raises(QAError) as e:
        fetch("http://intranet.example/page", max_bytes=10**6, timeout=2, resolver=stub([answer]))
    msg = str(e.value)
    assert f"intranet.example ({answer[-1]}) is a" in msg and "QA_ALLOW_PRIVATE_URLS=1" in msg
    assert "\n" not in msg
    assert no_connect == []


def test_the_checked_address_is_the_one_connected_to(no_connect):
    """DNS rebinding: a name that answers a public address for the check and loopback later.
    The host is resolved once per hop and the connection goes to that very address."""
    rebinding = stub([[PUBLIC], ["127.0.0.1"]])
    with pytest.raises(QAError, match="cannot fetch"):
        fetch("http://rebind.example/", max_bytes=10**6, timeout=2, resolver=rebinding)
    assert rebinding.calls == ["rebind.example"] and no_connect == [(PUBLIC, 80)]


def test_a_socket_connected_elsewhere_is_refused_before_sending(monkeypatch):
    sent = []

    class Elsewhere:  # a socket layer that did not connect where it was asked to
        def getpeername(self):
            return ("127.0.0.1", 80)

        def sendall(self, data):
            sent.append(data)

        def close(self):
            pass
    monkeypatch.setattr(fetch_module.socket, "create_connection", lambda *a, **k: Elsewhere())
    with pytest.raises(QAError, match="connected to 127.0.0.1, not the checked address"):
        fetch("http://news.example/", max_bytes=10**6, timeout=2, resolver=stub([[PUBLIC]]))
    assert sent == []


@pytest.fixture(scope="module")
def loopback():
    """Servers on 127.0.0.1 and (when the machine has IPv6) ::1 that count connections."""
    servers = [NewsServer()]
    try:
        servers.append(NewsServer(host="::1"))
    except OSError:
        pass
    for s in servers:
        s.add("/", "<html><body><p>Secret admin page.</p></body></html>")
    yield servers
    for s in servers:
        s.close()


def targets(servers):
    v4 = servers[0].port
    out = [f"http://127.0.0.1:{v4}/", f"http://localhost:{v4}/", f"http://127.1:{v4}/"]
    if len(servers) > 1:
        out.append(f"http://[::1]:{servers[1].port}/")
    return out


def test_loopback_urls_are_refused_before_any_byte_is_sent(loopback, tmp_path):
    settings = Settings(data_dir=tmp_path / "d", seed_dir=None)  # no opt-in
    before = [s.connections for s in loopback]
    for url in targets(loopback):
        with pytest.raises(QAError, match="loopback address") as e:
            api.ingest(url, settings=settings)
        assert url in str(e.value) and "QA_ALLOW_PRIVATE_URLS=1" in str(e.value)
    assert [s.connections for s in loopback] == before
    with_opt_in = Settings(data_dir=tmp_path / "d2", seed_dir=None, allow_private_urls=True)
    [a] = api.ingest(targets(loopback)[0], settings=with_opt_in)
    assert a.text == "Secret admin page."


class _Peer:
    """One end of a socket pair standing in for a connection to a public server."""

    def __init__(self, sock, peer):
        self._sock, self._peer = sock, peer

    def getpeername(self):
        return self._peer

    def __getattr__(self, name):
        return getattr(self._sock, name)


@pytest.fixture
def public_redirector(monkeypatch):
    """``http://news.example/`` as a public server (no network: a socket pair) whose every
    answer is a redirect to ``where["to"]``; other names resolve for real (loopback here)."""
    where = {}
    real_connect = socket.create_connection

    def connect(address, *a, **k):
        if address[0] != PUBLIC:
            return real_connect(address, *a, **k)
        mine, theirs = socket.socketpair()

        def answer():
            with theirs:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += theirs.recv(4096)
                theirs.sendall(f"HTTP/1.1 302 Found\r\nLocation: {where['to']}\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        threading.Thread(target=answer, daemon=True).start()
        return _Peer(mine, (PUBLIC, 80))
    monkeypatch.setattr(fetch_module.socket, "create_connection", connect)

    def resolve(host, port):
        return [PUBLIC] if host == "news.example" else system_resolver(host, port)
    return where, resolve


def test_a_redirect_to_loopback_is_refused_before_any_byte_is_sent(loopback, public_redirector):
    where, resolve = public_redirector
    before = [s.connections for s in loopback]
    for target in targets(loopback):
        where["to"] = target
        with pytest.raises(QAError, match="redirected to") as e:
            fetch("http://news.example/story", max_bytes=10**6, timeout=3, resolver=resolve)
        assert "loopback address" in str(e.value) and "QA_ALLOW_PRIVATE_URLS=1" in str(e.value)
    assert [s.connections for s in loopback] == before
