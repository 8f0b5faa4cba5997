"""Gradient-descent trainers: masks (and Adam moments) respected, learning happens, seeds batch exactly."""

import jax
import numpy as np
import pytest

import lottery_kit as lk
from lottery_kit import ConfigError, masks
from lottery_kit.cnn_training import vision_cnn_logprobs
from lottery_kit.networks import VisionCNN


def _leaves(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def _seed(tree, i):
    return jax.tree_util.tree_map(lambda a: a[i : i + 1], tree)


def _half_pruned(task, keys):
    init = task.init_params_batch(keys)
    n = masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], init))
    mask = jax.vmap(lambda k, p: masks.random_mask(k, p, n // 2))(keys, init)
    return jax.vmap(masks.apply)(init, mask), mask


def _assert_zero_where_pruned(tree, mask, also_nonzero=True):
    for w, m in zip(_leaves(tree), _leaves(mask)):
        assert np.all(w[~m] == 0)
    if also_nonzero:
        assert all(np.any(w[m] != 0) for w, m in zip(_leaves(tree), _leaves(mask)) if w.ndim > 2)


@pytest.mark.slow
def test_masked_adam_keeps_weights_and_moments_zero_and_learns_digits(digits, keys, bar_positions):
    init, mask = _half_pruned(digits, keys)
    trainer = lk.AdamTrainer(epochs=20, batch_size=64, progress=True)
    outcome, metrics = trainer(digits, init, mask, keys, init, desc="round 1/1")
    # the bar moves half an epoch with each seed's epoch (on CPU the seeds train in turn): full only at the end
    assert bar_positions["round 1/1"] == pytest.approx([i / 2 for i in range(1, 41)])
    for tree in (outcome.final_mean, outcome.best_mean):
        _assert_zero_where_pruned(tree, mask)
    for moment in ("mu", "nu"):  # a single non-zero gradient at a pruned weight would leave a trace here
        _assert_zero_where_pruned(metrics["adam_moments"][moment], mask)
    assert outcome.final_std is None  # no search distribution
    acc = np.asarray(metrics["final_perf"])
    assert np.all(acc > 0.8), acc  # chance is 0.1
    assert np.all(np.asarray(metrics["val_curve"])[:, -1] > np.asarray(metrics["val_curve"])[:, 0])


def test_training_kernel_matches_the_flax_cnn_and_its_gradient(digits):
    params = digits.init_params(jax.random.key(3))
    x, y = digits.data["x_train"][:64], digits.data["y_train"][:64]
    np.testing.assert_allclose(vision_cnn_logprobs(params, x), VisionCNN().apply(params, x), atol=1e-5)

    def loss(apply):
        return lambda p: -jax.numpy.take_along_axis(apply(p, x), y[:, None], -1).mean()

    for a, b in zip(_leaves(jax.grad(loss(vision_cnn_logprobs))(params)), _leaves(jax.grad(loss(VisionCNN().apply))(params))):
        np.testing.assert_allclose(a, b, atol=2e-6, rtol=1e-4)


@pytest.fixture(scope="module")
def cartpole_ppo_task():
    return lk.make_task("CartPole-v1", hidden=(32, 32), activation="relu", n_eval_episodes=8)


@pytest.mark.slow
def test_ppo_reaches_the_cartpole_cap_with_the_dense_network(cartpole_ppo_task, keys):
    task = cartpole_ppo_task
    init = task.init_params_batch(keys)
    _, metrics = lk.PPOTrainer(total_steps=1_000_000, progress=False)(task, init, jax.vmap(masks.dense_mask)(init),
                                                                     keys, init)
    assert np.all(np.asarray(metrics["best_perf"]) == 500.0), metrics["best_perf"]  # the 500-step cap
    assert np.all(np.asarray(metrics["train_return_curve"])[:, -1] > 3 * np.asarray(metrics["train_return_curve"])[:, 0])


def test_ppo_prunes_the_actor_only_and_keeps_its_zeros(keys):
    task = lk.make_task("Pendulum-v1", hidden=(32, 32), activation="relu", n_eval_episodes=4)
    init, mask = _half_pruned(task, keys)
    outcome, metrics = lk.PPOTrainer(total_steps=40_000, progress=False)(task, init, mask, keys, init)
    for tree in (outcome.final_mean, outcome.best_mean):
        _assert_zero_where_pruned(tree, mask)
    for moment in ("mu", "nu"):
        _assert_zero_where_pruned(metrics["adam_moments"][moment], mask)
    changed = [np.any(a != b) for a, b in zip(_leaves(outcome.final_mean), _leaves(init))]
    assert all(changed)  # every actor leaf trained
    assert np.all(np.isfinite(np.asarray(metrics["final_perf"]))) and np.all(np.asarray(metrics["final_perf"]) < 0)


def _same_numbers(a, b):
    """Bit for bit on CPU (seeds run in turn inside one program); to float rounding where seeds are vmapped."""
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3)


@pytest.mark.slow
@pytest.mark.parametrize("make", ["adam", "ppo"])
def test_seeds_batched_give_the_numbers_of_seeds_run_alone(make, digits, keys):
    if make == "adam":
        task, trainer = digits, lk.AdamTrainer(epochs=2, batch_size=64, progress=False)
    else:
        task = lk.make_task("Pendulum-v1", hidden=(32, 32), activation="relu", n_eval_episodes=4)
        trainer = lk.PPOTrainer(total_steps=30_000, n_evals=3, progress=False)
    init, mask = _half_pruned(task, keys)
    together, m_together = trainer(task, init, mask, keys, init)
    for i in range(len(keys)):
        alone, m_alone = trainer(task, _seed(init, i), _seed(mask, i), keys[i : i + 1], _seed(init, i))
        for a, b in zip(_leaves(_seed(together.final_mean, i)), _leaves(alone.final_mean)):
            _same_numbers(a, b)
        for k in ("final_perf", "best_perf", "val_curve"):
            _same_numbers(np.asarray(m_together[k])[i], np.asarray(m_alone[k])[0])


@pytest.mark.parametrize("call, match", [
    (dict(task="CartPole-v1", optimizer="Adam"), r"optimizer 'Adam' does not train gymnax tasks"),
    (dict(task="fmnist", optimizer="PPO"), r"optimizer 'PPO' does not train vision tasks"),
    (dict(optimizer="SNES"), r"unknown optimizer 'SNES'; valid optimizer names: Adam, PPO"),
    (dict(baseline="sig2noise"), r"baseline 'sig2noise' ranks weights by the signal-to-noise ratio .*Adam has none"),
    (dict(epochs=0), r"epochs=0 is out of range"),
    (dict(trainer_settings={"lr": 0.1}), r"AdamTrainer takes no trainer setting 'lr'.*learning_rate, batch_size"),
    (dict(task="Pendulum-v1", optimizer="PPO", total_steps=100), r"total_steps=100 is out of range"),
])
def test_bad_gradient_descent_input_is_refused_before_any_work(tmp_path, call, match):
    args = dict(task="digits", optimizer="Adam", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5,
                out_dir=tmp_path / "run") | call
    with pytest.raises(ConfigError, match=match):
        lk.run_gd_imp(**args)
    assert not (tmp_path / "run").exists()


def test_sig2noise_after_a_gradient_round_explains_itself(digits, keys):
    init = digits.init_params_batch(keys[:1])
    outcome, _ = lk.AdamTrainer(epochs=1, batch_size=256, progress=False)(digits, init, jax.vmap(masks.dense_mask)(init),
                                                                       keys[:1], init)
    one = jax.tree_util.tree_map(lambda a: a[0], outcome)
    with pytest.raises(ConfigError, match="needs the per-weight std"):
        lk.BASELINES["sig2noise"](jax.random.key(0), one, 100, digits)


@pytest.mark.slow
def test_gd_imp_rounds_prune_exactly_and_store_like_es(tmp_path, compiled):
    df = lk.run_gd_imp(task="digits", optimizer="Adam", baseline="final-ticket", seeds=[0, 1], rounds=3,
                       keep_ratio=0.5, out_dir=tmp_path, epochs=2, progress=False)
    assert compiled.count("jit(spread)") == 1   # the three rounds reuse one round program (over_seeds' spread)
    assert (df["strategy"] == "Adam").all() and df.groupby("round")["kept_weights"].first().tolist() == [11240, 5620, 2810]
    art = lk.load_round(tmp_path, seed=1, round=3)
    assert art["final_std"] is None and int(masks.kept_count(art["mask"])) == 2810
    _assert_zero_where_pruned(art["final_mean"], art["mask"])
    prev = lk.load_round(tmp_path, seed=1, round=2)
    ranked = np.abs(masks.flat_prunable(prev["final_mean"])[0])  # magnitude IMP on the trained weights
    kept = np.asarray(masks.flat_prunable(art["mask"])[0])
    assert ranked[kept].min() >= ranked[np.asarray(masks.flat_prunable(prev["mask"])[0]) & ~kept].max()
