"""Throwaway servers on loopback for tests and benchmarks: a PostgreSQL cluster and a Chroma server.

PostgreSQL comes from Debian's ``postgresql`` package (``scripts/test.sh`` installs it). Its
``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then the cluster's folder
is given to the ``postgres`` user and both run as it (``runuser``). The cluster listens on
127.0.0.1 only, on a free port, with its socket in its own folder, and is deleted when stopped.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder with initdb and pg_ctl (Debian keeps them off PATH), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "pg_ctl").exists() else None


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` in a temporary folder; ``new_database()`` gives a URL."""

    def __init__(self, durable: bool = False) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.durable = durable  # tests skip fsync; benchmarks of writes keep it
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="qa-pg-"))
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.root)

    def start(self) -> "PostgresCluster":
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "qa", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://qa@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A new empty database's URL (much cheaper than a new cluster)."""
        import psycopg
        name = f"qa_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"create database {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


class ChromaServer:
    """``chroma run`` on loopback, on a free port, storing in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path, self.port, self.proc = path, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "ChromaServer":
        exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
        self.proc = subprocess.Popen([exe, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "chroma run exited"
            try:
                urllib.request.urlopen(self.url + "/api/v2/heartbeat", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("chroma run did not answer its heartbeat in 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
