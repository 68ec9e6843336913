"""Ingest and ask with every non-loopback connection refused (as on a laptop with no network)."""

import socket

import pytest

from qa import api


@pytest.fixture
def no_network(monkeypatch):
    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError(f"network refused by test: {address}")
        return real_connect(self, address)

    def guarded_dns(host, *args, **kwargs):
        if host not in ("localhost", "127.0.0.1", "::1", None):
            attempts.append(host)
            raise socket.gaierror(f"DNS refused by test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_dns)
    monkeypatch.setattr(socket, "create_connection", lambda addr, *a, **k: guarded(socket.socket(), addr))
    return attempts


def test_ingest_and_ask_offline(no_network, settings, tmp_path):
    ans = api.ask("How many prisoners were exchanged?", settings=settings)  # seeds, offline
    assert "175" in ans.citations[0].sentence
    f = tmp_path / "local.txt"
    f.write_text("Council vote\nThe council approved the new tram line by 31 votes to 12 on Thursday.\n")
    api.ingest([str(f)], settings=settings)
    ans = api.ask("How many votes did the tram line get?", settings=settings)
    assert "31 votes" in ans.citations[0].sentence
    assert no_network == []  # nothing even tried to leave the machine
    # and the guard really bites: a URL ingest is refused with a clear message
    from index.types import QAError
    with pytest.raises(QAError, match="cannot fetch"):
        api.ingest(["http://example.com/story.html"], settings=settings)
    assert no_network
