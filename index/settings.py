"""All settings in one object, read from ``QA_*`` environment variables.

Every field documents its variable and why its default is what it is. Code never reads the
environment directly: it receives a ``Settings`` (``Settings.from_env()`` by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from index.types import QAError

_REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


RERANKERS = ("on", "off", "reader", "fused")


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "qa-news"


@dataclass(frozen=True)
class Settings:
    # QA_DATA_DIR: the one folder holding all state (Chroma, article texts, BM25 index, lock),
    # except what QA_CHROMA_URL / QA_DATABASE_URL move to servers.
    data_dir: Path = field(default_factory=_default_data_dir)
    # QA_SEED_DIR: articles ingested automatically when the data folder holds none, so the quick
    # start needs no ingest step. Empty string disables it.
    seed_dir: Path | None = _REPO_SEEDS
    # QA_EMBED_MODEL: "minilm" (all-MiniLM-L6-v2 int8 ONNX, fast) or "e5" (multilingual-e5-small,
    # ~3x slower to ingest). See README "Choosing the embedding model" for the measurement.
    embed_model: str = "minilm"
    # QA_CHROMA_URL: http://host:port of a Chroma server; empty = embedded store in data_dir.
    chroma_url: str = ""
    # QA_DATABASE_URL: postgresql://user:password@host:port/dbname of a PostgreSQL catalog that
    # any number of replicas share (needs the `postgres` extra); empty = the SQLite file in
    # data_dir, which one machine owns. With both this and QA_CHROMA_URL set, a replica keeps
    # no state of its own. Not shown in logs (it may hold a password).
    database_url: str = field(default="", repr=False)
    # QA_MAX_CITATIONS: at most this many sentences are cited in one answer.
    max_citations: int = 3
    # QA_MIN_CONFIDENCE: below this answer confidence (0..1) the extractive answerer abstains.
    # 0.40 abstains on 1% of answerable SQuAD questions (and on 3.5% of unanswerable ones:
    # those are written to look answerable, and no reader model ships offline to tell them apart).
    min_confidence: float = 0.40
    # QA_RERANKER: "on" (the reader trained here reranks the top candidates, fused with the
    # retriever's features, and decides abstention), "off" (the hand-weighted retriever score
    # and its confidence rule, for comparison); "reader" / "fused" are ablation steps (the
    # reader alone / fused, never abstaining) used by train/ablation.py.
    reranker: str = "on"
    # QA_RERANK_TOP: how many retrieved sentences the reader reads per question (cost is linear).
    rerank_top: int = 20
    # QA_READER_MODEL: a folder with reader-int8.onnx and reader.json; empty = the model shipped
    # in qa/models (trained by `python -m train`, see train/README.md).
    reader_model: str = ""
    # QA_MAX_FILE_MB: files and downloads larger than this are refused (with the limit named).
    max_file_mb: float = 20.0
    # QA_URL_TIMEOUT: seconds for fetching one URL.
    url_timeout: float = 15.0
    # QA_ALLOW_PRIVATE_URLS: 1 lets ingest fetch from loopback, private, link-local and other
    # non-public addresses (intranet use). Off by default: behind `qa chat --host 0.0.0.0`, a
    # logged-in user could otherwise make the server read http://169.254.169.254/ or its own
    # admin ports and show the answer as an article.
    allow_private_urls: bool = False
    # QA_MAX_FEED_ENTRIES: a feed is read up to this many entries (the first ones, usually the
    # newest); bounds the work one feed URL can cause.
    max_feed_entries: int = 500
    # QA_LLM: "" / "none" (extractive, offline default), "openai" (OpenAI or any compatible
    # server via OPENAI_BASE_URL), or "llamacpp" (embedded GGUF model, optional extra).
    llm: str = ""
    # QA_LLM_MODEL: model name for QA_LLM=openai.
    llm_model: str = "gpt-4o-mini"
    # QA_LLM_MODEL_PATH: .gguf file for QA_LLM=llamacpp.
    llm_model_path: str = ""
    # QA_LLM_TIMEOUT: seconds before a generative request gives up and falls back.
    llm_timeout: float = 60.0
    # QA_CONCURRENCY: answers computed at once by one server (the page and the HTTP API share
    # them); more requests wait their turn. A generative answer mostly waits on the model server,
    # so several overlap well; extractive ones are CPU-bound and gain little past the core count.
    concurrency: int = 8
    # QA_AUTH: "user:password", the login for the chat page (and, as its password, the API's
    # bearer token unless QA_API_TOKEN is set). Empty: no login, and loopback only.
    auth: str = field(default="", repr=False)
    # QA_API_TOKEN: the bearer token the HTTP API requires (Authorization: Bearer TOKEN).
    api_token: str = field(default="", repr=False)
    # QA_ACCESS_LOG: 1 writes one JSON line per HTTP request to stderr (time, method, path,
    # status, ms, client), 0 none; unset: on for `qa serve` (a service's log), off for `qa chat`
    # (a desktop terminal would fill with the page's own requests).
    access_log: bool | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise QAError(f"QA_CONCURRENCY={self.concurrency} must be 1 or more.")
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise QAError("QA_DATABASE_URL must start with postgresql:// (or be empty for the SQLite "
                          "catalog in the data folder).")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get("QA_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, raw: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if name == "seed_dir":
            return Path(raw).expanduser() if raw.strip() else None
        if name == "data_dir":
            return Path(raw).expanduser()
        if name == "reranker" and raw.strip().lower() not in RERANKERS:
            raise QAError(f"QA_RERANKER={raw!r}: use one of {', '.join(RERANKERS)}.")
        if name == "reranker":
            return raw.strip().lower()

        if "bool" in kind:
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("", "0", "false", "no", "off"):
                return False
            raise ValueError
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        return raw.strip()
    except ValueError:
        raise QAError(f"QA_{name.upper()}={raw!r} is not a valid {kind}; fix or unset it.") from None
