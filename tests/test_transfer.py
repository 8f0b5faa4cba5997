"""Ticket transfer: exactly the source's masks and θ0 are trained, between optimisers; bad sources are refused."""

import importlib.util
import shutil
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import ConfigError, masks
from lottery_kit.grid import grid_progress
from lottery_kit.networks import MLP
from lottery_kit.transfer import embed, run_transfer, starting_weights

pytestmark = pytest.mark.xdist_group("transfer")  # one worker: the source runs are trained once

ES_TARGET = dict(popsize=8, generations=4, eval_every=2, progress=False)


@pytest.fixture(scope="module")
def es_source(tmp_path_factory):
    out = tmp_path_factory.mktemp("es_source")
    lk.run_es_imp(task="digits", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=3, keep_ratio=0.5,
                  generations=4, popsize=8, eval_every=2, out_dir=out, progress=False)
    return out


@pytest.fixture(scope="module")
def adam_source(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam_source")
    lk.run_gd_imp(task="digits", optimizer="Adam", baseline="final-ticket", seeds=[3], rounds=2, keep_ratio=0.4,
                  out_dir=out, epochs=1, progress=False)
    return out


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


@pytest.mark.parametrize("target, settings", [("Adam", dict(epochs=1, progress=False)), ("PGPE", ES_TARGET)])
def test_es_tickets_train_with_another_optimiser_from_exactly_their_mask_and_init(es_source, tmp_path, target, settings):
    out = tmp_path / "transfer"
    df = run_transfer(es_source, "digits", target, "all", out_dir=out, **settings)
    assert len(df) == 2 * 3 and (df["strategy"] == target).all() and (df["baseline"] == "transfer").all()
    assert (df["source_task"] == "digits").all() and (df["source_strategy"] == "SNES").all()
    assert (df["source_baseline"] == "sig2noise").all()
    source = lk.collect(es_source)
    pd.testing.assert_series_equal(df["kept_weights"], source["kept_weights"], check_names=False)
    for seed in (0, 1):
        for r in (1, 2, 3):
            got, src = lk.load_round(out, seed, r), lk.load_round(es_source, seed, r)
            assert _same(got["mask"], src["mask"]) and _same(got["init"], src["init"])
            for w, m in zip(jax.tree_util.tree_leaves(got["final_mean"]), jax.tree_util.tree_leaves(got["mask"])):
                assert np.all(np.asarray(w)[~np.asarray(m)] == 0)
    again = run_transfer(es_source, "digits", target, "all", out_dir=out, **settings)  # finished: nothing retrained
    pd.testing.assert_frame_equal(again, df)


def _slim_run():
    path = Path(__file__).resolve().parents[1] / "papers_figures" / "scripts" / "slim.py"
    spec = importlib.util.spec_from_file_location("slim", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.slim_run


def test_a_source_thinned_to_its_masks_transfers_as_the_full_one_where_it_rewinds_to_theta0(es_source, tmp_path):
    thinned = tmp_path / "thinned"
    shutil.copytree(es_source, thinned)
    _slim_run()(thinned, ("mask",))          # as slim.py thins the long-budget set
    assert "init" not in lk.load_round(thinned, 1, 3)
    full = run_transfer(es_source, "digits", "PGPE", [2, 3], out_dir=tmp_path / "from_full", **ES_TARGET)
    rebuilt = run_transfer(thinned, "digits", "PGPE", [2, 3], out_dir=tmp_path / "from_thinned", **ES_TARGET)
    pd.testing.assert_frame_equal(rebuilt, full)     # θ0 ⊙ mask, θ0 drawn again from the seed: the same tickets
    for seed in (0, 1):
        assert _same(lk.load_round(tmp_path / "from_thinned", seed, 3)["init"], lk.load_round(es_source, seed, 3)["init"])
    cell = tmp_path / "grid" / "cells" / "transfer_cell"    # lottery-kit progress counts a transfer's chosen rounds
    shutil.copytree(tmp_path / "from_thinned", cell, ignore=shutil.ignore_patterns(".run.lock"))  # no process holds it
    (cell / "rounds" / "round_02" / "DONE").unlink()
    progress = grid_progress(tmp_path / "grid").iloc[0]
    assert (progress["state"], progress["rounds_done"], progress["rounds"]) == ("stopped", 1, 2)

    reinit = tmp_path / "reinit"              # its round 2 starts from fresh weights, which no seed redraws here
    lk.run_es_imp(task="digits", strategy="SNES", baseline="random-reinit", seeds=[0], rounds=2, keep_ratio=0.5,
                  generations=4, popsize=8, eval_every=2, out_dir=reinit, progress=False)
    _slim_run()(reinit, ("mask",))
    with pytest.raises(ConfigError, match="round 2 of seed 0 .* stores no init .* 'random-reinit' does not start from θ0"):
        run_transfer(reinit, "digits", "PGPE", [2], out_dir=tmp_path / "never", **ES_TARGET)
    assert not (tmp_path / "never").exists()
    late = tmp_path / "late"                  # late rewinding: round 2 starts from θ_1 ⊙ mask, not θ0 ⊙ mask
    lk.run_es_imp(task="digits", strategy="SNES", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5,
                  generations=4, popsize=8, eval_every=2, rewind_step=1, out_dir=late, progress=False)
    _slim_run()(late, ("mask",))
    with pytest.raises(ConfigError, match="'final-ticket' with late rewinding does not start from θ0"):
        run_transfer(late, "digits", "PGPE", [2], out_dir=tmp_path / "never", **ES_TARGET)
    assert not (tmp_path / "never").exists()
    starting = starting_weights(lk.load_config(reinit)["config"], reinit)
    art = lk.load_round(reinit, 0, 1)                                 # round 1 starts from θ0 under every baseline
    assert _same(starting(0, 1, art), lk.load_round(es_source, 0, 1)["init"])


def test_gd_tickets_transfer_to_an_evolution_strategy(adam_source, tmp_path):
    df = run_transfer(adam_source, "digits", "SNES", [2], out_dir=tmp_path / "t", **ES_TARGET)
    assert df["round"].tolist() == [2] and df["source_strategy"].tolist() == ["Adam"]
    assert _same(lk.load_round(tmp_path / "t", 3, 2)["mask"], lk.load_round(adam_source, 3, 2)["mask"])


def test_a_gaussian_policy_takes_the_es_kernel_in_its_mean_action_columns():
    es = MLP(8, (32, 32), tanh_output=True).init(jax.random.key(0), np.zeros((1, 27)))
    ppo = MLP(16, (32, 32), activation="swish").init(jax.random.key(1), np.zeros((1, 27)))
    es_mask = masks.random_mask(jax.random.key(2), es, 500)
    mask = embed(es_mask, masks.dense_mask(ppo))
    init = embed(es, ppo)
    out_k, out_m = init["params"]["Dense_2"]["kernel"], mask["params"]["Dense_2"]["kernel"]
    np.testing.assert_array_equal(out_k[:, :8], es["params"]["Dense_2"]["kernel"])
    np.testing.assert_array_equal(out_k[:, 8:], ppo["params"]["Dense_2"]["kernel"][:, 8:])  # the scale columns
    assert np.all(out_m[:, 8:]) and np.array_equal(out_m[:, :8], es_mask["params"]["Dense_2"]["kernel"])
    assert _same(mask["params"]["Dense_0"], es_mask["params"]["Dense_0"])
    assert int(masks.kept_count(mask)) == 500 + 32 * 8
    with pytest.raises(ConfigError, match=r"shape mismatch at \['params'\]\['Dense_0'\]\['kernel'\].*\(27, 32\).*\(17, 32\)"):
        embed(es, MLP(16, (32, 32)).init(jax.random.key(1), np.zeros((1, 17))))


def test_bad_sources_and_targets_are_refused_before_any_work(es_source, tmp_path):
    out = tmp_path / "never"

    def refused(match, source=es_source, task="digits", strategy="PGPE", rounds="all", **kw):
        with pytest.raises(ConfigError, match=match):
            run_transfer(source, task, strategy, rounds, out_dir=out, **(ES_TARGET | kw))
        assert not out.exists()

    refused("holds no config.json", source=tmp_path / "nothing")
    refused("layers.*transfer needs the same architecture", task="CartPole-v1")
    refused(r"rounds=\[7\] is out of range: give 'all' or source rounds in \[1, 3\]", rounds=[7])
    refused("unknown strategy 'Adamw'", strategy="Adamw")
    refused("optimizer 'PPO' does not train vision tasks", strategy="PPO", total_steps=10_000)
    unfinished = tmp_path / "unfinished"
    shutil.copytree(es_source, unfinished)
    (unfinished / "rounds" / "round_03" / "DONE").unlink()
    refused("is not finished: 2 of its 3 rounds are done", source=unfinished)
    run_transfer(es_source, "digits", "PGPE", [1], out_dir=tmp_path / "t1", **ES_TARGET)
    refused("is not an IMP run \\(a transfer run\\)", source=tmp_path / "t1")
