"""Task construction: networks as in the paper, MinAtar runs, fitness shapes."""

import jax
import numpy as np

from lottery_kit import ESTrainer, make_task, masks


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
