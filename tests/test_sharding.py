"""Runs spread over several devices give the numbers of a one-device run, bit for bit (one stated exception,
:data:`TOLERANCE`): ES on control tasks and on a vision task and masked Adam, with the scores the analyses give their
networks. The reference runs in a process with one host device; a process with three (the count is fixed when JAX
starts) runs the same over its first two devices and over all three (``run_imp(..., devices=N)``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import sharding

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("es-control", "es-pendulum", "es-vision", "adam")


def run_with_devices(host_devices: int, counts: list[int], out: Path) -> dict:
    """The runs of ``tests/sharded_runs.py`` in a process with ``host_devices`` devices, over each of ``counts``:
    {count: its devices.json}."""
    env = os.environ | {"LOTTERY_KIT_DEVICES": str(host_devices), "LOTTERY_KIT_PROGRESS": "0"}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "sharded_runs.py"), str(out), *map(str, counts)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return {n: json.loads((out / str(n) / "devices.json").read_text()) for n in counts}


#: The one stated tolerance, a fraction of each array's largest magnitude: ES on the vision task. Its generations
#: (batch sampling, ask, tell around the population's forward pass) are fused differently by XLA in a program over
#: several devices, so the last bits of some weights of its means and σ differ (measured: by at most 2.8e-9, the
#: largest weight being about 0.2), while its scores (the results table) agree bit for bit. Control tasks and Adam
#: agree bit for bit everywhere.
TOLERANCE = {"es-vision": 1e-6}


def assert_same_run(a: Path, b: Path) -> None:
    """Identical results tables and identical stored artifacts (every seed, round and array; :data:`TOLERANCE`)."""
    rows_a, rows_b = pd.read_parquet(a / "results.parquet"), pd.read_parquet(b / "results.parquet")
    pd.testing.assert_frame_equal(rows_a, rows_b, check_exact=True)
    for seed in rows_a["seed"].unique():
        for round_ in rows_a["round"].unique():
            one, other = lk.load_round(a, int(seed), int(round_)), lk.load_round(b, int(seed), int(round_))
            assert set(one) == set(other)
            for key in one:
                leaves = zip(jax.tree_util.tree_leaves(one[key]), jax.tree_util.tree_leaves(other[key]), strict=True)
                for x, y in leaves:
                    x, y = np.asarray(x), np.asarray(y)
                    atol = TOLERANCE.get(a.name, 0.0) * float(np.max(np.abs(x), initial=0.0))
                    np.testing.assert_allclose(y, x, rtol=0, atol=atol, err_msg=f"{a.name} {key}")


@pytest.mark.slow
def test_es_and_adam_runs_are_identical_over_one_two_and_three_devices(tmp_path):
    seen = run_with_devices(1, [1], tmp_path) | run_with_devices(3, [2, 3], tmp_path)
    for n, devices in seen.items():
        assert devices["jax"] == (1 if n == 1 else 3)
        # each run's kernels were spread over exactly n devices (ES: members; Adam: its 3 seeds), or not at all (1)
        assert devices["spread"] == {run: [n] * (n > 1) for run in RUNS}
    for n in (2, 3):
        for run in RUNS:
            assert_same_run(tmp_path / "1" / run, tmp_path / str(n) / run)
            scores = [np.load(tmp_path / str(m) / run / "scores.npy") for m in (1, n)]
            assert scores[0].shape == (6 if run == "adam" else 4,)
            np.testing.assert_array_equal(*scores)


TINY_RUN = """
import sys, lottery_kit as lk
lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=2, keep_ratio=0.5,
              generations=2, popsize=8, eval_every=1, out_dir=sys.argv[1],
              task_options={"n_rollouts": 2, "n_eval_episodes": 4}, progress=False)
"""


def test_a_run_never_resumes_on_another_device_count(tmp_path):
    """Over several devices a long ES round may end elsewhere (last bits, amplified), so the count is part of a
    multi-device run's identity: a two-device run records it, and a one-device process refuses to resume it."""
    env = os.environ | {"LOTTERY_KIT_DEVICES": "2", "LOTTERY_KIT_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-c", TINY_RUN, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "config.json").read_text())["config"]["devices"] == 2
    assert sharding.available() == 1   # the suite's processes have one device (tests/conftest.py)
    with pytest.raises(lk.ConfigError, match=r"made over 2 device\(s\) and this run has 1: a run resumes only on "
                                             r"its own count \(devices=2"):
        lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=3,
                      keep_ratio=0.5, generations=2, popsize=8, eval_every=1, out_dir=tmp_path,
                      task_options={"n_rollouts": 2, "n_eval_episodes": 4}, progress=False)
