#!/usr/bin/env bash
# The GPU measurements in one run, from the repository root of a GPU machine that has the wheels the image lacks in
# .whl/ and Fashion-MNIST in .gpudata/: installs those pure-Python packages, then measures and tests in order of value.
# PHASES picks the phases of benchmarks/gpu_paper_scale.py (name:seconds); BENCH_S and TESTS_S time-box the rest.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  >/dev/null && export PYTHONPATH=/tmp/site:$PWD || exit 1
export LOTTERY_KIT_DATA=$PWD/.gpudata LOTTERY_KIT_OFFLINE=1 PYTHONUNBUFFERED=1 LOTTERY_KIT_PROGRESS=0
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L; python3 -c "import jax; print(jax.__version__, jax.devices())"
for phase in ${PHASES:-gen:70 profile:45 memory:90}; do
  timeout "${phase#*:}" python3 benchmarks/gpu_paper_scale.py "${phase%%:*}" 2>&1 | grep -v -i warn
done
if [ -n "${BENCH_S:-200}" ] && [ "${BENCH_S:-200}" != 0 ]; then
  timeout "${BENCH_S:-200}" python3 -m lottery_kit.cli bench --quick --json >"$OUT/bench_gpu.json" 2>"$OUT/bench_gpu.err"
  python3 -c "import json,sys; from lottery_kit.bench import summary; print(summary(json.load(open(sys.argv[1]))))" \
    "$OUT/bench_gpu.json" || tail -5 "$OUT/bench_gpu.err"
fi
if [ "${TESTS_S:-150}" != 0 ]; then
  timeout "${TESTS_S:-150}" python3 -m pytest -v -p no:cacheprovider tests/test_population.py tests/test_gd_trainers.py \
    tests/test_es.py tests/test_pruning.py tests/test_imp_store.py tests/test_transfer.py >"$OUT/tests_gpu.txt" 2>&1
  grep -E "PASSED|FAILED|ERROR|passed|failed" "$OUT/tests_gpu.txt" | tail -45
fi
