#!/usr/bin/env bash
# Reduced-scale SCR reproduction on a CPU (see BENCHMARKS.md): stage 1 -> stage 2 (w/o SC) ->
# stage 3 (SCR), plus stage 2 trained further for the same budget as stage 3 (the ablation).
# Usage: scripts/repro_scr.sh RUNS_DIR [INIT_FROM]   (re-running resumes every stage)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-runs}; INIT=${2:-}
PY=.venv/bin/python
S=${SCR_STEPS:-1500}; S3=${SCR_STAGE3_STEPS:-$S}
$PY train.py --config configs/scr/stage1.py --workdir "$R/scr1" --config.steps=$S ${INIT:+--config.init_from=$INIT}
$PY train.py --config configs/scr/stage2.py --workdir "$R/scr2" --config.steps=$S --config.init_from="$R/scr1"
$PY train.py --config configs/scr/stage3.py --workdir "$R/scr3" --config.steps=$S3 --config.init_from="$R/scr2"
$PY train.py --config configs/scr/stage2.py --workdir "$R/scr2b" --config.steps=$S3 --config.init_from="$R/scr2"
.venv/bin/jlic export "$R/scr3" -o "$R/scr.jlicm" --label "SCR mean-scale N=64 M=96, reduced CPU budget (scripts/repro_scr.sh)"
.venv/bin/jlic export "$R/scr2b" -o "$R/scr_wosc.jlicm" --label "SCR w/o selective compression, same budget (scripts/repro_scr.sh)"
