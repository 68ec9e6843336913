"""The candidate dumps of ``train.mine``: one JSON object per question and line, in
``train/cache/NAME.jsonl`` (or ``NAME.jsonl.xz``, as ``train.gpu pack`` writes them).

Kept apart from ``train.mine``, which needs the product's index (chromadb, llama-index): the
reader's training reads the dumps where only torch is installed (a lent GPU machine).
"""

from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent / "cache"
NAMES = ("news", "v3", "squad", "selqa")  # the collections train.mine dumps


def _open(path: Path, mode: str):
    if path.suffix != ".xz":
        return path.open(mode, encoding="utf-8")
    # xz -9 (a 64 MiB window) finds the sentences that a dump repeats across an article's many
    # questions, far apart: 4x smaller than gzip (11 MiB -> 2.8 MiB for what train.gpu packs)
    return lzma.open(path, mode + "t", encoding="utf-8", preset=9 if mode == "w" else None)


def save(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} questions", file=sys.stderr)


def load(path: Path) -> list[dict]:
    with _open(path, "r") as f:
        return [json.loads(x) for x in f if x.strip()]


def read(cache: Path, name: str) -> list[dict]:
    """The dump ``name`` in ``cache``: NAME.jsonl, else NAME.jsonl.xz."""
    for path in (cache / f"{name}.jsonl", cache / f"{name}.jsonl.xz"):
        if path.is_file():
            return load(path)
    raise FileNotFoundError(f"no {name}.jsonl(.xz) in {cache}: run python -m train.mine first "
                            "(or point --cache at the folder holding the dumps)")
