"""Late rewinding (``rewind_step``) for ES, Adam and PPO, and the gradient-descent SNR score (``iterate-snr``)."""

import jax
import numpy as np
import pytest

import lottery_kit as lk
from lottery_kit import masks
from lottery_kit.trainers.snapshots import iterates_add, iterates_init, iterates_result


def _leaves(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def _assert_equal(a, b):
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_array_equal(x, y)


def _es(**kw):
    return lk.ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False, **kw)


@pytest.mark.slow
def test_es_rewinds_every_round_to_round_ones_mean_after_k_generations_and_resumes(cartpole, tmp_path):
    trainer = _es(rewind_step=4)      # one trainer: one compiled round for all three runs
    late = lk.run_imp(cartpole, trainer, "sig2noise", seeds=[0, 1], rounds=3, keep_ratio=0.5,
                      out_dir=tmp_path / "late", progress=False)
    r1, r2, r3 = (lk.load_round(tmp_path / "late", 1, r) for r in (1, 2, 3))
    # k = the round's length: the rewind point is round 1's final mean, so round 2 starts from its masked survivors
    _assert_equal(r1["rewind"], r1["final_mean"])
    _assert_equal(r2["init"], masks.apply(r1["final_mean"], r2["mask"]))
    _assert_equal(r3["init"], masks.apply(r1["final_mean"], r3["mask"]))
    assert "rewind" not in r2                          # only round 1's rewind point is stored
    assert lk.load_config(tmp_path / "late")["config"]["trainer"]["rewind_step"] == 4
    lk.run_imp(cartpole, trainer, "sig2noise", seeds=[0, 1], rounds=2, keep_ratio=0.5, out_dir=tmp_path / "parts",
               progress=False)
    parts = lk.run_imp(cartpole, trainer, "sig2noise", seeds=[0, 1], rounds=3, keep_ratio=0.5,
                       out_dir=tmp_path / "parts", progress=False)   # resumes at round 3 from stored rounds 1-2
    assert np.array_equal(late["final_perf"].to_numpy(), parts["final_perf"].to_numpy())
    _assert_equal(r3["init"], lk.load_round(tmp_path / "parts", 1, 3)["init"])
    mid = lk.run_imp(cartpole, _es(rewind_step=1), "final-ticket", seeds=[0, 1], rounds=2, keep_ratio=0.5,
                     out_dir=tmp_path / "mid", progress=False)
    m1, m2 = (lk.load_round(tmp_path / "mid", 1, r) for r in (1, 2))
    for a, b, c in zip(_leaves(m1["rewind"]), _leaves(m1["init"]), _leaves(m1["final_mean"])):
        assert not np.array_equal(a, b) and not np.array_equal(a, c)   # after 1 of 4 generations: neither end
    _assert_equal(m2["init"], masks.apply(m1["rewind"], m2["mask"]))
    assert len(mid) == 4


def test_adam_and_ppo_rewind_to_the_weights_after_k_steps(digits, cartpole):
    adam = lk.AdamTrainer(epochs=1, batch_size=512, progress=False)          # 2 steps an epoch on digits' 1078
    keys = jax.random.split(jax.random.key(0), 1)
    init = digits.init_params_batch(keys)
    mask = jax.vmap(masks.dense_mask)(init)
    full, _ = adam(digits, init, mask, keys, init)
    assert full.rewind is None
    late, _ = lk.AdamTrainer(epochs=1, batch_size=512, rewind_step=2, progress=False)(digits, init, mask, keys, init)
    _assert_equal(late.rewind, late.final_mean)                        # after all 2 steps: the final weights
    _assert_equal(late.final_mean, full.final_mean)                    # recording it changes no number
    ppo = lk.PPOTrainer(total_steps=2048, num_envs=4, num_steps=64, n_evals=2, progress=False)
    actor = cartpole.init_params_batch(keys)
    done, _ = lk.PPOTrainer(total_steps=2048, num_envs=4, num_steps=64, n_evals=2, rewind_step=ppo.n_evals *
                            ppo.updates_per_eval, progress=False)(cartpole, actor, jax.vmap(masks.dense_mask)(actor),
                                                                  keys, actor)
    _assert_equal(done.rewind, done.final_mean)


@pytest.mark.parametrize("make, message", [
    (lambda: lk.ESTrainer("SNES", generations=10, eval_every=5, rewind_step=11), "rewind_step=11 is out of range"),
    (lambda: lk.PPOTrainer(total_steps=2048, num_envs=4, num_steps=64, n_evals=2, rewind_step=9),
     "a round has 8"),
    (lambda: lk.ESTrainer("SNES", rewind_step=-1), "rewind_step=-1 is out of range"),
])
def test_a_rewind_step_beyond_the_round_is_refused(make, message):
    with pytest.raises(lk.ConfigError, match=message):
        make()


def test_adam_rewind_step_beyond_its_steps_is_refused_before_training(tmp_path):
    with pytest.raises(lk.ConfigError, match="rewind_step=99 is out of range.*a round has 2"):
        lk.run_gd_imp(task="digits", optimizer="Adam", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5,
                      out_dir=tmp_path / "x", epochs=1, rewind_step=99,
                      trainer_settings={"batch_size": 512}, progress=False)
    assert not (tmp_path / "x" / "rounds").exists()


def test_iterate_statistics_are_welfords_mean_and_std_of_the_included_iterates():
    xs = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    include = np.array([False, False, True, True, True, True, True])
    stats = iterates_init({"w": np.zeros(3, np.float32)})
    for x, inc in zip(xs, include):
        stats = iterates_add(stats, {"w": x}, inc)
    mean, std = iterates_result(stats)
    np.testing.assert_allclose(mean["w"], xs[include].mean(0), rtol=1e-5)
    np.testing.assert_allclose(std["w"], xs[include].std(0), rtol=1e-4)


def test_iterate_snr_prunes_adam_by_its_iterates_and_is_refused_for_an_es(tmp_path):
    rows = lk.run_gd_imp(task="digits", optimizer="Adam", baseline="iterate-snr", seeds=[0], rounds=3, keep_ratio=0.5,
                         out_dir=tmp_path / "gd", epochs=2,
                         trainer_settings={"batch_size": 256}, progress=False)
    assert sorted(rows["kept_weights"].unique()) == [2810, 5620, 11240]
    assert lk.load_config(tmp_path / "gd")["config"]["trainer"]["iterate_statistics"] is True
    r1, r2 = (lk.load_round(tmp_path / "gd", 0, r) for r in (1, 2))
    snr = lk.pruning.snr_scores(r1["iterate_mean"], r1["iterate_std"])
    flat_snr, _ = masks.flat_prunable(snr)
    kept, _ = masks.flat_prunable(r2["mask"])
    flat_snr, kept = np.asarray(flat_snr), np.asarray(kept)
    assert flat_snr[kept].min() >= flat_snr[~kept].max()          # the kept half has the larger |mean|/std
    mag, _ = masks.flat_prunable(jax.tree_util.tree_map(np.abs, r1["final_mean"]))
    assert not np.array_equal(np.asarray(mag) >= np.sort(np.asarray(mag))[-5620], kept)  # not magnitude's choice
    std, _ = masks.flat_prunable(r2["iterate_std"])
    std = np.asarray(std)
    assert np.all(std[~kept] == 0) and np.mean(std[kept] > 0) > 0.9     # pruned weights never move, kept ones do
    with pytest.raises(lk.ConfigError, match="iterate-snr.*records none"):
        lk.run_es_imp(task="digits", strategy="SNES", baseline="iterate-snr", seeds=[0], rounds=2, keep_ratio=0.5,
                      generations=2, popsize=4, eval_every=1, out_dir=tmp_path / "es", progress=False)
