#!/usr/bin/env bash
# The GPU check (issues 14 and 16) as one command on a machine with a CUDA GPU:
#   benchmarks/gpu_check.sh DATA OUT
# DATA holds dsb2018_nuclei_fluo and dsb2018_nuclei_histo. OUT receives six files: device.txt
# (GPU, torch, CPUs, each stage's exit status and seconds), fluo_results.json and .md
# (`noisyfix benchmark`, every measure, fast budget, CUDA with mixed precision), fluo.log,
# gpu_check_histo.json (benchmarks/gpu_check.py: training and scoring as `noisyfix train` and
# `noisyfix score` run there) and gpu_check.log. BENCH_S and CHECK_S bound each stage (seconds).
set -u
DATA=$1
OUT=$2
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
mkdir -p "$OUT"
WORK=$(mktemp -d)
{
  nvidia-smi -L
  echo "cpus: $(nproc)"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
  $PY -c "import segmentation_models_pytorch, cleanlab, napari_noisyfix.benchmark.run" || exit 3
} > "$OUT/device.txt" 2>&1 || { cat "$OUT/device.txt"; exit 3; }

start=$(date +%s)
timeout "${BENCH_S:-300}" $PY -m napari_noisyfix benchmark "$DATA/dsb2018_nuclei_fluo" --noise 0.5 \
  --seed 0 --budget fast --device cuda --out "$WORK/fluo" > "$WORK/fluo.log" 2>&1
echo "benchmark: rc $? in $(($(date +%s) - start)) s" >> "$OUT/device.txt"
cp "$WORK/fluo/results.json" "$OUT/fluo_results.json" 2>/dev/null
cp "$WORK/fluo/results.md" "$OUT/fluo_results.md" 2>/dev/null
tr '\r' '\n' < "$WORK/fluo.log" | tail -n 200 > "$OUT/fluo.log"

start=$(date +%s)
timeout "${CHECK_S:-140}" $PY benchmarks/gpu_check.py "$DATA/dsb2018_nuclei_histo" --device cuda \
  --out "$OUT/gpu_check_histo.json" > "$WORK/gpu_check.log" 2>&1
echo "gpu_check: rc $? in $(($(date +%s) - start)) s" >> "$OUT/device.txt"
tr '\r' '\n' < "$WORK/gpu_check.log" | tail -n 200 > "$OUT/gpu_check.log"
cat "$OUT/device.txt"
