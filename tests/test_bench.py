"""The benchmark suite runs and reports every figure (timings are targets, not test assertions)."""

import inspect
import json
import os
import subprocess
import sys

import pytest

from lottery_kit import bench


def test_the_benchmarks_measure_the_papers_sizes_by_default():
    size = lambda fn, name: inspect.signature(fn).parameters[name].default
    assert (size(bench.cnn_pop_eval, "popsize"), size(bench.cnn_pop_eval, "batch")) == (128, 256)
    assert (size(bench.control_rollout, "popsize"), size(bench.control_rollout, "n_rollouts")) == (100, 8)
    assert size(bench.es_generation, "popsize") == 64 and size(bench.seed_vmap_speedup, "n_rollouts") == 8


@pytest.mark.slow
def test_bench_json_has_every_figure():
    """The whole suite at the toy sizes of ``--smoke`` (the real sizes take minutes): every figure is there."""
    run = subprocess.run([sys.executable, "-m", "lottery_kit.cli", "bench", "--json", "--smoke"],
                         capture_output=True, text=True, timeout=900,
                         env=os.environ | {"LOTTERY_KIT_DEVICES": "2"})   # the multi-device figures over 1 and 2
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(run.stdout)
    assert r["smoke"] and r["matmul_peak_gflops"] > 0 and r["peak_rss_mb"] > 0
    assert {"popsize", "batch", "gflops", "peak_fraction"} <= set(r["cnn_pop_eval"])
    assert (r["cnn_pop_eval"]["popsize"], r["cnn_pop_eval"]["batch"]) == tuple(bench.SMOKE["cnn_pop_eval"].values())
    assert {"task", "popsize", "batch", "seconds_per_generation", "reference_seconds_per_generation",
            "speedup"} <= set(r["es_generation"])
    assert r["es_generation"]["popsize"] == bench.SMOKE["es_generation"]["popsize"]
    assert [k["task"] for k in r["control_rollout"]] == ["CartPole-v1", "Pendulum-v1"]
    for k in r["control_rollout"]:   # FLOPs from the MLP 2x64's kernels
        assert (k["popsize"], k["n_rollouts"]) == (8, 2) and k["env_steps_per_second"] > 0
        assert 0 < k["peak_fraction"] and k["flops_per_step"] == 2 * {"CartPole-v1": 4 * 64 + 64 * 64 + 64 * 2,
                                                                      "Pendulum-v1": 3 * 64 + 64 * 64 + 64}[k["task"]]
    assert r["seed_vmap_speedup"] > 0 and r["seed_vmap"][0]["n_rollouts"] == 8
    assert len(r["seed_vmap"][0]["ratios"]) == 1 and r["seed_vmap"][0]["speedup"] == r["seed_vmap_speedup"]
    assert r["adam_epoch"]["batch"] == 128 and r["adam_epoch"]["seconds_per_epoch"] > 0
    assert r["ppo_steps"]["env_steps_per_second"] > 0
    g = r["generation_vs_parts"]
    assert g["ratio"] > 0 and set(g["parts_seconds"]) == {"ask", "expand", "fitness", "tell"}
    imp = r["imp_round_seconds"]   # the IMP driver through a wrapped trainer, under sig2noise
    assert (imp["rounds"], imp["popsize"]) == (2, 8)
    for rules in ("paper", "evosax-0.3"):
        assert len(imp[rules]["round_seconds"]) == 2 and min(imp[rules]["round_seconds"]) > 0
    assert r["devices"] == 2 and [d["kernel"] for d in r["device_scaling"]] == ["control", "vision"]
    for d in r["device_scaling"]:   # one device against two, the same numbers on both
        assert d["devices"] == [1, 2] and d["speedup"][0] == 1.0 and min(d["seconds"]) > 0 and d["identical"]
        assert d["efficiency"][1] == d["speedup"][1] / 2
    assert set(r["targets_met"]) >= {"cnn_peak_fraction>=0.30", "generation_vs_parts<=1.25",
                                     "pendulum_rollout_peak_fraction>=0.25"}  # the CPU's targets
    assert set(r["targets_met"].values()) == {None}   # toy sizes measure no target
    text = bench.summary(r)   # what `make bench` prints: a line for every figure measured
    for line in ("CNN population eval", "ES generation", "masked Adam epoch", "masked PPO", "seed vmap speedup",
                 "generation vs parts", "numerical guard", "IMP rounds", "control over devices",
                 "vision over devices", "targets"):
        assert line in text, f"`lottery-kit bench` prints no {line!r} line"
