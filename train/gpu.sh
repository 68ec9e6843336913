#!/usr/bin/env bash
# Train the reader on a lent GPU machine (qa/models/README.md, "On a lent GPU"). The device
# tool runs it in a copy of this tree: command "bash train/gpu.sh", carry ["train/cache/gpu"]
# (packed here by `python -m train.gpu pack`). Needs there: python3 with torch, transformers,
# safetensors, onnx and onnxruntime; none of the product's index (chromadb, llama-index).
# Writes to $OUT, whose files come back (at most 8, 16 MiB each): the int8 ONNX model in parts
# with their manifest, reader-train.json and train.log; `python -m train.gpu join FOLDER` here
# rebuilds the model from them.
#
# Settings, from the environment (defaults: 4 layers, the product's latency budget; 3 rounds;
# about 6 minutes of training at most, so that start, training and export fit one 10-minute
# command and the 15 minutes a session is lent):
#   QA_GPU_LAYERS (4)  QA_GPU_EPOCHS (3)  QA_GPU_BATCH (32)  QA_GPU_MINUTES (6: then training
#   stops and what there is is exported)  QA_GPU_LIMIT (0: all questions)  QA_GPU_THREADS
#   (all cores)  QA_GPU_DEVICE (cuda; cpu for a smoke test anywhere)  QA_GPU_PACK
#   (train/cache/gpu)  PYTHON (python3)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?OUT must name the folder whose files come back}"
PACK=${QA_GPU_PACK:-train/cache/gpu}
DEVICE=${QA_GPU_DEVICE:-cuda}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ ! -f "$PACK/pack.json" ]; then
  echo "error: no $PACK/pack.json: run 'python -m train.gpu pack' and carry $PACK" >&2
  exit 2
fi
mkdir -p "$OUT"
{
  if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader ||
      { echo "error: nvidia-smi sees no GPU (QA_GPU_DEVICE=cpu trains on the CPU)"; exit 2; }
  fi
  echo "pack: $(tr -d "\n " < "$PACK/pack.json")"
  "$PY" - "$DEVICE" <<'PY'
import sys, onnxruntime, torch, transformers
print("python", sys.version.split()[0], "torch", torch.__version__, "transformers",
      transformers.__version__, "onnxruntime", onnxruntime.__version__, "cuda", torch.cuda.is_available())
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit("error: torch sees no GPU (QA_GPU_DEVICE=cpu trains on the CPU)")
PY
  # train.reader keeps its rounds in the pack: a run starts afresh, and leaves none to travel
  rm -rf "$PACK"/rounds-*
  "$PY" -m train.reader --device "$DEVICE" --base "$PACK/base" --cache "$PACK" --out "$OUT/model" \
    --layers "${QA_GPU_LAYERS:-4}" --epochs "${QA_GPU_EPOCHS:-3}" --batch "${QA_GPU_BATCH:-32}" \
    --minutes "${QA_GPU_MINUTES:-6}" --limit "${QA_GPU_LIMIT:-0}" --threads "${QA_GPU_THREADS:-$(nproc)}"
  rm -rf "$PACK"/rounds-*
  "$PY" -m train.gpu split "$OUT/model/reader-int8.onnx" "$OUT"
  mv "$OUT/model/reader-train.json" "$OUT/"
  rm -r "$OUT/model"
  ls -l "$OUT"
} 2>&1 | tee "$OUT/train.log"
