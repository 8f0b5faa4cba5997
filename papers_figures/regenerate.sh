#!/usr/bin/env bash
# Regenerates the committed CPU-scale results set under papers_figures/results (about 4 hours on 2 CPU cores),
# grid by grid in the order the figures need them (the transfers read fmnist_es and fmnist_adam), then keeps only
# the round artifacts the analyses read (papers_figures/scripts/slim.py). Finished cells are skipped, so it resumes.
# At the paper's scale: PRESET=paper OUT=runs/paper papers_figures/regenerate.sh (with --profile in EXTRA for a cluster;
# fmnist_transfer.yaml's source_dir entries then point at OUT). GRIDS="cartpole_ppo pendulum_ppo" makes only those.
# ES_RULES=evosax-0.3 runs the imp_es grids under evosax 0.3.2's rules, as the committed set was made (default: the
# paper's rules). To check that a set reproduces: OUT=/tmp/regen GRIDS=... papers_figures/regenerate.sh, then
# .venv/bin/python papers_figures/scripts/compare_sets.py papers_figures/results /tmp/regen
# The long-budget set (papers_figures/results-long, LONG=<dir> elsewhere) runs only when GRIDS names its grids:
# GRIDS="long_pendulum_es long_pendulum_es_replicate" WORKERS=2 CORES_PER_CELL=1 papers_figures/regenerate.sh (hours a cell;
# long_cartpole_es, long_cartpole_es_replicate, long_cartpole_retrain, long_fmnist_es and long_fmnist_es_replicate
# likewise;
# cells resume round by round; `lottery-kit progress papers_figures/results-long/*` shows how far they are).
set -euo pipefail
# One device a run, as the committed sets were made: over several devices a long run can end elsewhere
# (docs/devices.md), so a regenerated set would not compare. LOTTERY_KIT_DEVICES=N overrides.
export LOTTERY_KIT_DEVICES=${LOTTERY_KIT_DEVICES:-1}
cd "$(dirname "$0")/.."
OUT=${OUT:-papers_figures/results}
LONG=${LONG:-papers_figures/results-long}
WORKERS=${WORKERS:-1}
EXTRA=${EXTRA:-}
pin=(); [ -n "${CORES_PER_CELL:-}" ] && pin=(--cores-per-cell "$CORES_PER_CELL")   # cores of its own for each cell
preset=(); [ -n "${PRESET:-}" ] && preset=(-p "preset=$PRESET")
run() {  # notebook grid [results dir]
  [ -z "${GRIDS:-}" ] || [[ " $GRIDS " == *" $2 "* ]] || return 0
  rules=(); [ "$1" = imp_es ] && [ -n "${ES_RULES:-}" ] && rules=(-p "es_rules=$ES_RULES")
  .venv/bin/lottery-kit grid "notebooks/$1.ipynb" --grid "papers_figures/grids/$2.yaml" --out "${3:-$OUT}/$2" \
    --workers "$WORKERS" --quiet "${preset[@]}" "${rules[@]}" "${pin[@]}" $EXTRA
}
run imp_es fmnist_es
run imp_gd fmnist_adam
run transfer fmnist_transfer
run imp_es pendulum_es
run imp_gd pendulum_ppo
run imp_es cartpole_es
run imp_es pendulum_es_replicate   # the null for SNR against magnitude
run imp_gd cartpole_ppo
run imp_es fmnist_baselines
run imp_es fmnist_pgpe
# Sparsity distributions, late rewinding and iterate-snr (docs/report.md, "Pruning")
run imp_es fmnist_layout_es
run imp_gd fmnist_layout_adam
.venv/bin/python papers_figures/scripts/slim.py "$OUT"
# The long-budget set, only when GRIDS names it
# Each task's null (one cell) runs beside its grid (three cells) at a lower priority: it takes the core that the
# grid's last cell leaves free instead of waiting for the grid to end (NULL_NICE=0 when the grid has one cell left
# and other work shares the machine: at nice 10 beside a test suite the null got almost no CPU).
with_null() {  # task
  ( renice -n "${NULL_NICE:-10}" "$BASHPID" >/dev/null; run imp_es "long_$1_es_replicate" "$LONG" ) & local null=$!
  run imp_es "long_$1_es" "$LONG"
  wait "$null"
}
if [ -n "${GRIDS:-}" ] && [[ " $GRIDS " == *" long_"* ]]; then
  for task in pendulum cartpole fmnist; do
    with_null "$task"
    # CartPole's tickets (SNR, magnitude, the null) trained again for 100 generations, where the 500-step cap that
    # most tickets reach at 2000 does not hide how fast each learns (GRIDS names long_cartpole_retrain)
    [ "$task" != cartpole ] || run transfer long_cartpole_retrain "$LONG"
  done
  .venv/bin/python papers_figures/scripts/slim.py "$LONG"
fi
