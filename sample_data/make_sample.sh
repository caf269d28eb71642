#!/bin/sh
# Regenerates sample_data/project exactly as committed (run from the repository root).
set -e
.venv/bin/noisyfix sample sample_data/project --n 12 --size 128 --seed 0 --force
