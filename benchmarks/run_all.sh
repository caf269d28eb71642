#!/usr/bin/env bash
# The exact commands behind the figures in BENCHMARKS.md (measures 1-4 of
# ../shared/BENCHMARK_PROTOCOL.md). Outputs go outside the repository, under $OUT.
#   benchmarks/run_all.sh            # fast budget on CPU, one core per run
#   BUDGET=full DEVICE=cuda benchmarks/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/shared/data}
OUT=${OUT:-/tmp/bench}
BUDGET=${BUDGET:-fast}
DEVICE=${DEVICE:-cpu}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"

# Measures 1-4 at noise 0.5 on both datasets, side by side (one core each).
for set in dsb2018_nuclei_fluo dsb2018_nuclei_histo; do
  .venv/bin/noisyfix benchmark "$DATA/$set" --noise 0.5 --seed 0 --budget "$BUDGET" \
    --device "$DEVICE" --out "$OUT/full/${set}_noise0.5" > "$OUT/${set}_noise0.5.log" 2>&1 &
done
wait

# Measure 1 at noise 0.3 and 0.7 (detection only), one dataset per core.
for set in dsb2018_nuclei_fluo dsb2018_nuclei_histo; do
  .venv/bin/python benchmarks/detection.py "$DATA/$set" --noise 0.3 0.7 --seed 0 \
    --budget "$BUDGET" --device "$DEVICE" --out "$OUT/detection" > "$OUT/${set}_detection.log" 2>&1 &
done
wait

# The tables of BENCHMARKS.md.
.venv/bin/python benchmarks/summarize.py "$OUT/full" "$OUT/detection"
