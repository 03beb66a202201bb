#!/usr/bin/env bash
# The bundled default model (jlic/assets/default.jlicm) from scratch: its eleven training phases,
# each started from the previous one's --compact export, as they were run (10 h 50 min on a
# 2-core CPU; each config's docstring says what its phase changes and what it measured).
#
#   scripts/train_default_model.sh [RUNS_DIR] [--config.FIELD=VALUE ...]
#
# RUNS_DIR (default runs/default_model_chain) gets one workdir per phase, phase_X.jlicm after
# each and default.jlicm at the end. Re-running resumes: a finished phase is exported again, an
# interrupted one goes on from its last checkpoint. Overrides go to every phase (e.g.
# --config.data.train_dir=DIR, --config.compute_dtype=bfloat16 on an accelerator). Phase H was
# stopped at step 614 of its 900-step schedule (--config.stop_at=614). Phases E, J-N and Q-S
# were measured and not kept (BENCHMARKS.md). The result is the bundled model's recipe, not its
# bits: phase O ran before a frozen entropy model kept its quantiles (the auxiliary loss moved
# them a little; phase P trains the entropy model anyway), and later code may round differently.
set -euo pipefail
cd "$(dirname "$0")/.."
R=runs/default_model_chain
if [[ $# -gt 0 && $1 != --* ]]; then R=$1; shift; fi
EXTRA=("$@")
PY=${PYTHON:-.venv/bin/python}
PREVIOUS=""

phase() {  # phase LETTER CONFIG [OVERRIDES...]: train, export --compact, start the next from it
  local letter=$1 config=$2
  shift 2
  echo "== phase ${letter^^}: configs/$config.py" >&2
  "$PY" train.py --config "configs/$config.py" --workdir "$R/$letter" \
    ${PREVIOUS:+"--config.init_from=$PREVIOUS"} "$@" ${EXTRA[@]+"${EXTRA[@]}"}
  "$PY" -m jlic export "$R/$letter" -o "$R/phase_$letter.jlicm" --compact \
    --label "jlic default model, phase ${letter^^} (scripts/train_default_model.sh)"
  PREVIOUS="$R/phase_$letter.jlicm"
}

phase a default_model
phase b default_model_scr --config.model.selective=False
phase c default_model_wide
phase d default_model_range
phase f default_model_reach
phase g default_model_polish
phase h default_model_crop256 --config.stop_at=614
phase i default_model_crop256_top
phase o default_model_top_gains
phase p default_model_top_hard
phase t default_model_deep_decoder
cp "$PREVIOUS" "$R/default.jlicm.tmp" && mv "$R/default.jlicm.tmp" "$R/default.jlicm"
echo "$R/default.jlicm: use it with --model, or copy it to jlic/assets/default.jlicm" >&2
