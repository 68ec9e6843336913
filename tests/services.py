"""Throwaway servers on loopback for tests and benchmarks: a PostgreSQL cluster, a Chroma server,
and ``qa serve`` replicas sharing both.

PostgreSQL comes from Debian's ``postgresql`` package (``scripts/test.sh`` installs it). Its
``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then the cluster's folder
is given to the ``postgres`` user and both run as it (``runuser``). The cluster listens on
127.0.0.1 only, on a free port, with its socket in its own folder, and is deleted when stopped.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import signal
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
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        # as root, under /tmp: a TMPDIR inside /root would be out of the postgres user's reach
        self.root = Path(tempfile.mkdtemp(prefix="qa-pg-", dir="/tmp" if self._as else None))
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


class Replica:
    """A ``qa serve`` process on loopback using the shared catalog and Chroma server (its own
    data folder holds nothing then)."""

    def __init__(self, name: str, database_url: str, chroma_url: str, data_dir: Path, **env) -> None:
        self.name, self.port, self.proc = name, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "QA_DATABASE_URL": database_url, "QA_CHROMA_URL": chroma_url,
                    "QA_DATA_DIR": str(data_dir), "QA_SEED_DIR": "", "HF_HUB_OFFLINE": "1",
                    "GRADIO_ANALYTICS_ENABLED": "False", **env}
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = data_dir.parent / f"{name}.log"

    def start(self, timeout: float = 120) -> "Replica":
        qa = Path(sys.executable).with_name("qa")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(qa), "serve", "--port", str(self.port)], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"replica {self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/articles?limit=1", timeout=30).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"replica {self.name} did not answer in {timeout} s")

    def post(self, path: str, body: dict, timeout: float = 600) -> dict:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return json.loads(r.read())

    def delete(self, path: str) -> dict:
        req = urllib.request.Request(self.url + path, method="DELETE")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()


def vector_collection(database_url: str, chroma_url: str):
    """The Chroma collection the replicas on this catalog share (named by the catalog's id)."""
    import chromadb
    import psycopg
    from chromadb.config import Settings as ChromaSettings
    with psycopg.connect(database_url, autocommit=True) as c:
        (index_id,) = c.execute("select value from meta where key = 'index_id'").fetchone()
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]),
                                 settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection(f"sentences-{index_id}-minilm", embedding_function=None)


def stray_vectors(state: dict) -> int:
    """Articles with vectors but no rows (a killed batch's, invisible to readers until removed)."""
    return len(set(state["vectors"]) - set(state["sentences"]))


def shared_state(database_url: str, chroma_url: str) -> dict:
    """Read from outside, as no replica: per article the sentences in PostgreSQL and the
    sentences the vectors in Chroma cover, and the pending marks."""
    import psycopg
    with psycopg.connect(database_url, autocommit=True) as c:
        sentences = dict(c.execute("select a.id, count(s.id) from articles a left join sentences s "
                                   "on s.article_id = a.id group by a.id").fetchall())
        pending = [r[0] for r in c.execute("select article_id from pending")]
    coll = vector_collection(database_url, chroma_url)
    vectors: dict[str, int] = {}
    for meta in coll.get(include=["metadatas"])["metadatas"]:
        vectors[meta["article_id"]] = vectors.get(meta["article_id"], 0) + len(json.loads(meta["sentence_ids"]))
    return {"sentences": sentences, "vectors": vectors, "pending": pending}


def half_there(state: dict) -> list[str]:
    """Articles a reader could see incompletely: stored sentences and vectors that disagree, or
    vectors of an article that is neither stored nor pending (never cleaned up)."""
    problems = [f"{a}: {n} sentences, {state['vectors'].get(a, 0)} vectors"
                for a, n in state["sentences"].items() if n == 0 or state["vectors"].get(a, 0) != n]
    stray = set(state["vectors"]) - set(state["sentences"]) - set(state["pending"])
    return problems + [f"{a}: vectors of no article" for a in sorted(stray)]
