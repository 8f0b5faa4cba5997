"""Task construction: networks as in the paper, MinAtar runs, fitness shapes."""

import jax
import numpy as np
import pytest

from lottery_kit import ESTrainer, make_task, masks
from lottery_kit.tasks.control import DETERMINISTIC_STEP, make_action_fn, population_returns


def test_networks_have_the_papers_sizes(digits, cartpole):
    cnn = digits.init_params(jax.random.key(0))
    assert masks.num_prunable(cnn) == 11240
    assert sum(a.size for a in jax.tree_util.tree_leaves(cnn)) - 11240 == 34  # biases
    assert masks.num_prunable(cartpole.init_params(jax.random.key(0))) == 4 * 64 + 64 * 64 + 64 * 2


def test_minatar_round_with_the_minatar_cnn():
    task = make_task("Breakout-MinAtar", n_rollouts=1, n_eval_episodes=2, max_steps=20)
    params = task.init_params(jax.random.key(0))
    assert params["params"]["Conv_0"]["kernel"].shape == (3, 3, 4, 16)
    assert params["params"]["Dense_0"]["kernel"].shape == (10 * 10 * 16, 48)
    keys = jax.random.split(jax.random.key(0), 1)
    init = task.init_params_batch(keys)
    _, metrics = ESTrainer("SNES", popsize=4, generations=2, eval_every=1, progress=False)(
        task, init, jax.vmap(masks.dense_mask)(init), keys, init)
    assert np.isfinite(np.asarray(metrics["final_perf"])).all()


@pytest.mark.parametrize("name", DETERMINISTIC_STEP)
def test_rollouts_with_one_constant_key_return_what_a_key_per_step_returns(name):
    """The deterministic-step rollout (one constant key, the auto-reset folded away) gives the returns of a key per
    step bit for bit, for random policies (CartPole's end within a few dozen steps) and for members around a mean
    that SNES trained for 10 generations (long, chaotic episodes: a last-bit difference would show)."""
    import gymnax

    task = make_task(name, n_rollouts=4)
    env, env_params = gymnax.make(name)
    keys = jax.random.split(jax.random.key(5), 1)
    init = task.init_params_batch(keys)
    outcome, _ = ESTrainer("SNES", popsize=16, generations=10, eval_every=5, progress=False)(
        task, init, jax.vmap(masks.dense_mask)(init), keys, init)
    trained = jax.tree_util.tree_map(lambda m, k: m + 0.05 * jax.random.normal(jax.random.key(7), (16,) + m.shape[1:]),
                                     outcome.final_mean, outcome.final_mean)
    n_steps = min(500, int(env_params.max_steps_in_episode))
    runs = []
    for pop in (task.init_params_batch(jax.random.split(jax.random.key(5), 16)), trained):
        returns = {flag: np.asarray(population_returns(env, env_params, task.network,
                                                       make_action_fn(env.action_space(env_params)), pop,
                                                       jax.random.key(6), 4, n_steps, deterministic_step=flag))
                   for flag in (False, True)}
        np.testing.assert_array_equal(returns[True], returns[False])
        runs.append(returns[False])
    random_policies, trained_policies = runs
    assert len(np.unique(random_policies)) > 4   # members differ: the rollouts did something
    assert trained_policies.mean() > random_policies.mean() + (100 if name == "CartPole-v1" else 0)
