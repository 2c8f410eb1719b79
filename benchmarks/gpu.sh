#!/usr/bin/env bash
# The GPU measurements of docs/performance.md ("On a GPU"), in one command, on one machine:
#   homework --preset full, throughput.py at batch 128 and 1024, recipes.py gpu-1min gpu-5min.
# Usage: KERAS_BACKEND=jax bash benchmarks/gpu.sh OUT_DIR [PYTHON]
# Each part has its own time limit, so one that hangs does not cost the rest; everything printed
# goes to OUT_DIR/log.txt, and the summaries are copied into OUT_DIR.
set -u
OUT=${1:?usage: bash benchmarks/gpu.sh OUT_DIR [PYTHON]}
PY=${2:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
T0=$(date +%s)
step() { echo "[+$(($(date +%s) - T0)) s] $*"; }
{
    step "environment"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -3
    "$PY" -c "from kit import environment; print(environment.describe())"
    step "homework --preset full"
    timeout 600 "$PY" -m kit homework --preset full --out "$OUT/homework"
    for batch in 128 1024; do
        step "throughput, batch $batch"
        timeout 300 "$PY" benchmarks/throughput.py --epochs 3 --repeats 3 --batch-size "$batch" \
            --precision float32 --json "$OUT/throughput$batch.json"
    done
    step "time to accuracy: gpu-1min, gpu-5min"
    timeout 900 "$PY" benchmarks/recipes.py gpu-1min gpu-5min --no-reference --out "$OUT/recipes"
    step "done"
} 2>&1 | tee "$OUT/log.txt"
