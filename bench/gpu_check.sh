#!/usr/bin/env bash
# GPU check: one script for a machine with a GPU, done in about 8 minutes.
# Lists the WebGPU adapters, runs the webgpu parity and training tests,
# benchmarks resnet18 and efficientnet-b0 on webgpu (and on tensorflow-gpu
# when @tensorflow/tfjs-node-gpu is installed), and the PyTorch twin on CUDA
# when a CUDA-enabled torch is importable. Prints one JSON line per
# measurement on stdout (logs go to stderr).
#
#   bash bench/gpu_check.sh
#   SIZE=32 BATCH=2 STEPS=2 CLASSES=10 bash bench/gpu_check.sh   # tiny, e.g. on lavapipe
#
# Environment: SIZE (128), BATCH (8), STEPS (10), WARMUP (1), CLASSES (1000),
# STEP_TIMEOUT seconds per command (110), DENO (npx -y deno@2.9.6),
# PYTHON (python3), MODELS ("resnet18 efficientnet-b0").
set -u
cd "$(dirname "$0")/.."
SIZE=${SIZE:-128}
BATCH=${BATCH:-8}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-1}
CLASSES=${CLASSES:-1000}
STEP_TIMEOUT=${STEP_TIMEOUT:-110}
DENO=${DENO:-npx -y deno@2.9.6}
PYTHON=${PYTHON:-python3}
MODELS=${MODELS:-resnet18 efficientnet-b0}
# Vulkan's loader warns without it; harmless, but keep stderr readable.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

shape="\"batch\":$BATCH,\"size\":$SIZE,\"steps\":$STEPS"

# Prints a failure line: check name, then the reason (quotes stripped).
fail() {
  printf '{"check":"%s","ok":false,"error":"%s"}\n' "$1" "$(printf '%s' "$2" | tr -d '"\\' | tr '\n' ' ' | cut -c1-300)"
}

# 1. Adapters (and the NVIDIA driver's view, when there is one).
if ! timeout "$STEP_TIMEOUT" $DENO run -A bench/gpu_adapters.ts 2>/dev/null; then
  fail adapter "bench/gpu_adapters.ts failed"
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L 2>/dev/null | while read -r line; do
    printf '{"check":"nvidia-smi","gpu":"%s"}\n' "$(printf '%s' "$line" | tr -d '"')"
  done
fi

# 2. Parity and training tests on webgpu against cpu.
out=$(timeout $((STEP_TIMEOUT * 2)) $DENO test -A tests/webgpu_parity_test.ts tests/webgpu_train_test.ts 2>&1)
summary=$(printf '%s' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '(ok|FAILED) \| [0-9]+ passed' | tail -1)
if [ -n "$summary" ]; then
  passed=$(printf '%s' "$summary" | sed -E 's/.*\| ([0-9]+) passed.*/\1/')
  failed=$(printf '%s' "$summary" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
  ignored=$(printf '%s' "$summary" | grep -oE '[0-9]+ ignored' | grep -oE '[0-9]+' || echo 0)
  printf '{"check":"webgpu-tests","ok":%s,"passed":%s,"failed":%s,"ignored":%s}\n' \
    "$([ "$failed" = 0 ] && echo true || echo false)" "$passed" "$failed" "${ignored:-0}"
else
  fail webgpu-tests "$(printf '%s' "$out" | tail -3)"
fi

# 3. bench:model on each backend that can run here.
backends=webgpu
if [ -f node_modules/@tensorflow/tfjs-node-gpu/package.json ]; then
  backends="$backends tensorflow-gpu"
fi
for backend in $backends; do
  for model in $MODELS; do
    out=$(timeout "$STEP_TIMEOUT" $DENO run -A cli/bench_model.ts --model "$model" \
      --backend "$backend" --batch "$BATCH" --size "$SIZE" --steps "$STEPS" \
      --warmup "$WARMUP" --classes "$CLASSES" --json 2>&1)
    line=$(printf '%s' "$out" | grep '^{' | tail -1)
    if [ -n "$line" ]; then
      printf '{"check":"bench:model",%s,%s\n' "$shape" "${line#\{}"
    else
      fail "bench:model $model $backend" "$(printf '%s' "$out" | tail -2)"
    fi
  done
done

# 4. The PyTorch twin (ResNet-18) on CUDA, when torch has CUDA.
if $PYTHON -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  out=$(timeout "$STEP_TIMEOUT" $PYTHON bench/pytorch_classifier.py --model resnet18 --device cuda \
    --batch "$BATCH" --size "$SIZE" --steps "$STEPS" --warmup "$WARMUP" --classes "$CLASSES" 2>&1)
  line=$(printf '%s' "$out" | grep '^{' | tail -1)
  if [ -n "$line" ]; then
    printf '{"check":"pytorch-cuda",%s,%s\n' "$shape" "${line#\{}"
  else
    fail pytorch-cuda "$(printf '%s' "$out" | tail -2)"
  fi
else
  printf '{"check":"pytorch-cuda","ok":false,"error":"no CUDA-enabled torch for %s"}\n' "$PYTHON"
fi
