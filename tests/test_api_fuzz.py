"""Schemathesis over /api/v1/openapi.json, every check on, against `qa serve` and `qa chat`
(the page mounted beside the APIs), each with a token.

The server runs in this process on loopback; schemathesis (its CLI, all four phases: the
schema's examples, coverage, fuzzing, stateful) in a child process that talks to it on
127.0.0.1 only. What must hold: no 5xx, every status and content type documented, every
error a JSON body, schema-valid requests accepted and schema-invalid ones refused, 405 with
``Allow`` for undocumented methods, auth enforced on every route that declares it.

Some schema-valid requests are refused with 400 on purpose, for reasons a JSON schema cannot
state (since after until; the chat's last message must be the user's; a URL whose page cannot
be fetched): ``fuzz_hooks.py`` excuses exactly those, by operation and the server's message.

Nothing leaves the machine: while the fuzz runs, this process (the server) refuses every name
resolution and connection to anything but loopback, so a generated or example URL
(``https://example.com/...``) is refused before a DNS packet is sent; the refusals are counted
and shown.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from http_helpers import seeded, served

TOKEN = "fuzz-token"
EXAMPLES = 60  # per operation and phase: about a minute here on 2 cores
SEED = 20261207  # fixed, so a failure reproduces (`st replay` its case id)
HOOKS = Path(__file__).with_name("fuzz_hooks.py")


def _loopback(host) -> bool:
    h = host.decode() if isinstance(host, bytes) else str(host)
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch):
    """Refuse (and record) every lookup and connection of this process beyond loopback."""
    refused: list[str] = []
    real_resolve, real_connect = socket.getaddrinfo, socket.socket.connect

    def resolve(host, *a, **k):
        if not _loopback(host):
            refused.append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not resolved during the fuzz test")
        return real_resolve(host, *a, **k)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            refused.append(f"connect {address[0]}")
            raise ConnectionRefusedError(f"{address[0]}: no connection during the fuzz test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", connect)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # llm="openai" falls back, offline
        monkeypatch.delenv(var, raising=False)
    return refused


@pytest.mark.parametrize("page", [False, True], ids=["serve", "chat"])
def test_schemathesis_finds_nothing(tmp_path, loopback_only, page):
    settings = seeded(tmp_path, url_timeout=2)
    report = tmp_path / "report.json"
    with served(settings, auth=f"fuzz:{TOKEN}", page=page) as url:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", url + "api/v1/openapi.json",
             "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
             "--generation-database", "none", "-H", f"Authorization: Bearer {TOKEN}",
             "--no-color", "--report", "json", "--report-json-path", str(report)],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": HOOKS.stem,
                 "PYTHONPATH": os.pathsep.join([str(HOOKS.parent), os.environ.get("PYTHONPATH", "")])})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[out.find("FAILURES"):] if "FAILURES" in out else out
    got = json.loads(report.read_text())
    print(f"\nschemathesis {got['schemathesis_version']}: {got['operations']['tested']} operations, "
          f"{got['test_cases']['generated']} cases, {got['test_cases']['unique_failures']} failures "
          f"({got['filtered']} excused refusals of valid data); "
          f"refused beyond loopback: {sorted(set(loopback_only))}")
    assert got["operations"]["tested"] == got["operations"]["total"] >= 10
    assert all(p["status"] == "success" for p in got["phases"].values()), got["phases"]
    assert got["test_cases"]["generated"] > 500 and not got["failures"] and not got["errors"]
    assert all(r.startswith("resolve ") for r in loopback_only)  # no connection got as far as an address
