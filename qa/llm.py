"""Chat model backends for generative answers: OpenAI-compatible servers and embedded llama.cpp.

The only module that imports openai, llama_index.llms.* or llama_cpp, so swapping a backend
touches one place. Every backend is a ``stream(messages) -> Iterator[str]`` of text pieces; its
failures become ``LLMError``, one line that says what to do, so ``qa.ask`` can fall back to the
extractive answer instead of showing a traceback.
"""

from __future__ import annotations

import atexit
import os
import random
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping, Protocol

from index.settings import Settings
from index.types import QAError

BACKENDS = ("openai", "llamacpp")
MAX_TOKENS = 400  # answers are a few cited sentences; a cap bounds latency with slow local models
RETRIES_429 = 3  # bounded: a user is waiting, and the extractive answer is a fine fallback
BACKOFF_MAX = 8.0  # seconds, the longest single wait between 429 retries


class LLMError(QAError):
    """The chat model could not produce a reply; the message says what to do."""


class ChatLLM(Protocol):
    name: str

    def stream(self, messages: list[dict]) -> Iterator[str]: ...


def get_llm(kind: str, settings: Settings, env: Mapping[str, str] | None = None) -> ChatLLM:
    """The backend named ``kind``. OPENAI_API_KEY / OPENAI_BASE_URL are read from ``env``
    (default: the process environment) because they are the openai client's own variables."""
    env = os.environ if env is None else env
    if kind == "openai":
        base_url = (env.get("OPENAI_BASE_URL") or "").strip()
        key = (env.get("OPENAI_API_KEY") or "").strip()
        if not key and not base_url:
            raise LLMError("No OpenAI key: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server.")
        # One client per configuration, reused: a new one loads the CA certificates again
        # (measured: 0.18 s of CPU per answer on the loaded 2-core machine, which is what kept
        # 16 overlapping answers from finishing in about two model replies).
        config = (settings.llm_model, base_url or None, key or "placeholder", settings.llm_timeout)
        with _models_lock:
            if config not in _chats:
                _chats[config] = OpenAIChat(*config)
            return _chats[config]
    if kind == "llamacpp":
        return LlamaCppChat(settings.llm_model_path, settings.llm_timeout)
    raise QAError(f"unknown LLM backend {kind!r}: use none, openai or llamacpp (QA_LLM / --llm).")


def _retry_after(exc) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


class OpenAIChat:
    """OpenAI, or any server speaking its chat protocol (Ollama, vLLM, llama.cpp, LM Studio)."""

    def __init__(self, model: str, base_url: str | None, api_key: str, timeout: float):
        from llama_index.llms.openai_like import OpenAILike

        self.name = f"the OpenAI-compatible server at {base_url}" if base_url else "OpenAI"
        self.model, self.base_url, self.timeout = model, base_url, timeout
        # OpenAILike, not OpenAI: the OpenAI class rejects model names it does not know, which
        # every local server uses. max_retries=0 turns off both the openai client's and
        # llama-index's retries: 429 is retried below, where the wait is bounded and a stream
        # is never restarted after text was shown.
        self._llm = OpenAILike(model=model, api_base=base_url or "https://api.openai.com/v1",
                               api_key=api_key, is_chat_model=True, max_retries=0,
                               timeout=timeout, temperature=0.0, max_tokens=MAX_TOKENS)

    def stream(self, messages: list[dict]) -> Iterator[str]:
        import openai
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        where = self.base_url or "api.openai.com"
        deadline = time.monotonic() + self.timeout
        for attempt in range(RETRIES_429 + 1):
            started = False
            try:
                for part in self._llm.stream_chat(chat):
                    if time.monotonic() > deadline:  # httpx times each read, not the whole reply
                        raise openai.APITimeoutError(request=None)
                    if part.delta:
                        started = True
                        yield part.delta
                if not started:  # e.g. an HTML error page where SSE events should be
                    raise LLMError(f"{self.name} sent an empty or malformed reply; "
                                   "check that it speaks the OpenAI chat API.")
                return
            except LLMError:
                raise
            except openai.RateLimitError as e:
                if started or attempt == RETRIES_429:
                    raise LLMError(f"{self.name} is rate limiting (429) after {attempt + 1} tries; "
                                   "wait a minute or check your plan's limits.") from None
                wait = _retry_after(e)
                wait = min(BACKOFF_MAX, wait if wait is not None else 0.5 * 2 ** attempt)
                time.sleep(wait * random.uniform(0.8, 1.0))
            except openai.APITimeoutError:
                raise LLMError(f"{self.name} did not answer within {self.timeout:g} s; "
                               "raise QA_LLM_TIMEOUT or use a faster model.") from None
            except openai.APIConnectionError:
                raise LLMError(f"cannot reach {where}: start the server or fix OPENAI_BASE_URL.") from None
            except openai.AuthenticationError:
                raise LLMError(f"{self.name} rejected the API key: check OPENAI_API_KEY.") from None
            except openai.NotFoundError:
                raise LLMError(f"{self.name} has no model {self.model!r}: set QA_LLM_MODEL "
                               "(or --model) to one it serves.") from None
            except openai.APIStatusError as e:
                raise LLMError(f"{self.name} answered HTTP {e.status_code}; "
                               "check the server's log or try again.") from None
            except Exception as e:  # a reply that does not parse: bad JSON, missing fields
                raise LLMError(f"{self.name} sent a malformed reply ({type(e).__name__}); "
                               "check that it speaks the OpenAI chat API.") from None


_chats: dict[tuple, "OpenAIChat"] = {}
_models: dict[str, object] = {}
_gen_locks: dict[str, threading.Lock] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Freed here, not by Llama.__del__ at interpreter exit, where llama_cpp's globals are
    # already gone and it prints "Exception ignored ... TypeError" on every CLI run.
    for model in _models.values():
        try:
            model.close()
        except Exception:
            pass
    _models.clear()


class LlamaCppChat:
    """A GGUF model run inside this process by llama-cpp-python (the optional ``llamacpp`` extra)."""

    N_CTX = 4096  # holds the prompt's ~10 numbered sentences plus the answer with room to spare

    def __init__(self, model_path: str, timeout: float):
        if not model_path:
            raise LLMError("QA_LLM=llamacpp needs a model file: set QA_LLM_MODEL_PATH "
                           "(or --model) to a .gguf file.")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LLMError(f"model file {path} not found: set QA_LLM_MODEL_PATH to a .gguf file.")
        try:
            import llama_cpp
        except ImportError:
            raise LLMError("llama-cpp-python is not installed: pip install 'qa-news[llamacpp]' "
                           "(it compiles for a few minutes).") from None
        self.name, self.timeout = f"the model {path.name}", timeout
        with _models_lock:  # loading takes seconds and hundreds of MB: once per file per process
            if str(path) not in _models:
                try:
                    _models[str(path)] = llama_cpp.Llama(model_path=str(path), n_ctx=self.N_CTX,
                                                         verbose=False)
                    _gen_locks[str(path)] = threading.Lock()
                except Exception as e:
                    raise LLMError(f"llama.cpp could not load {path.name} ({type(e).__name__}); "
                                   "is it a valid .gguf file?") from None
            self._llama = _models[str(path)]
            self._lock = _gen_locks[str(path)]  # a Llama object serves one generation at a time

    def stream(self, messages: list[dict]) -> Iterator[str]:
        deadline = time.monotonic() + self.timeout
        with self._lock:
            try:
                chunks = self._llama.create_chat_completion(messages=messages, stream=True,
                                                            temperature=0.0, max_tokens=MAX_TOKENS)
                for chunk in chunks:
                    if time.monotonic() > deadline:
                        raise LLMError(f"{self.name} did not finish within {self.timeout:g} s; "
                                       "raise QA_LLM_TIMEOUT or use a smaller model.")
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except LLMError:
                raise
            except Exception as e:
                raise LLMError(f"llama.cpp failed while generating ({type(e).__name__}); "
                               "check the model file.") from None
