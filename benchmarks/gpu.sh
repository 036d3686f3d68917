#!/usr/bin/env bash
# The benchmark suite on a GPU runner, start to finish:
#   1. makes the CUDA/cuDNN libraries of the `gpu` extra (nvidia-* wheels) findable,
#   2. checks that ONNX Runtime really runs on CUDA (active providers after session creation and
#      one inference, not just the listed ones) and that torch sees the GPU,
#   3. runs the suite with --device cuda and writes the results.
#
# Usage: benchmarks/gpu.sh [--quick|--full] [extra `python -m benchmarks run` arguments]
# Environment: PYTHON (default .venv/bin/python), OUT (default benchmarks/results/gpu),
#              ALLOW_CPU=1 proves the script on a machine without a GPU (runs --device cpu
#              and says so in the results), LINEPATROL_BENCH_COMMIT names the commit in the
#              results' stamp when the runner's copy of the tree has no (or stale) git metadata.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
MODE=${1:---full}
[ $# -gt 0 ] && shift
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"

# 1. CUDA user-space libraries shipped as wheels: put their lib folders on the loader path, so
#    the core's sessions (which do not call onnxruntime.preload_dlls) find them too.
NVLIBS=$("$PY" - <<'PYEOF'
import glob, os, site
dirs = []
for base in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(base, "nvidia", "*", "lib")))
print(":".join(dirs))
PYEOF
)
if [ -n "$NVLIBS" ]; then
  export LD_LIBRARY_PATH="$NVLIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# 2. The GPU is really used, or we stop (unless proving the script on a CPU machine).
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
else
  echo "nvidia-smi: not found"
fi
DEVICE=cuda
NOTE="GPU runner (benchmarks/gpu.sh)"
if ! "$PY" -m benchmarks.cuda_check > "$OUT/cuda_check.json"; then
  cat "$OUT/cuda_check.json"
  if [ "${ALLOW_CPU:-0}" = "1" ]; then
    echo "ALLOW_CPU=1: no working CUDA here; proving the script with --device cpu" >&2
    DEVICE=cpu
    NOTE="benchmarks/gpu.sh proved on a machine without a GPU (ALLOW_CPU=1): CPU numbers, not GPU ones"
  else
    echo "error: ONNX Runtime or torch does not run on CUDA here (see $OUT/cuda_check.json)" >&2
    exit 1
  fi
else
  cat "$OUT/cuda_check.json"
fi

# 3. The suite.
exec "$PY" -m benchmarks run "$MODE" --device "$DEVICE" --out "$OUT" --note "$NOTE" "$@"
