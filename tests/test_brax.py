"""Brax with tiny settings (Brax compiles slowly on CPU): the heavier-torso ant trains under a mask."""

import jax
import numpy as np
import pytest

from lottery_kit import ConfigError, ESTrainer, make_task, masks


def test_ant_mass15_masked_round_and_heavier_torso():
    from brax import envs

    from lottery_kit.tasks.brax_tasks import _heavier_torso

    base = envs.get_environment("ant", backend="spring")
    heavy = _heavier_torso(envs.get_environment("ant", backend="spring"), 1.5)
    np.testing.assert_allclose(heavy.sys.body_mass[1], 1.5 * base.sys.body_mass[1], rtol=1e-6)
    np.testing.assert_allclose(heavy.sys.body_mass[2:], base.sys.body_mass[2:])

    task = make_task("ant_mass15", n_rollouts=1, n_eval_episodes=2, episode_length=10)
    keys = jax.random.split(jax.random.key(0), 2)
    init = task.init_params_batch(keys)
    n = masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], init))
    assert n == 27 * 32 + 32 * 32 + 32 * 8  # MLP 2x32 on ant's 27 observations, 8 actions
    mask = jax.vmap(lambda k, p: masks.random_mask(k, p, n // 4))(keys, init)
    outcome, metrics = ESTrainer("SNES", popsize=4, generations=2, eval_every=1, progress=False)(
        task, jax.vmap(masks.apply)(init, mask), mask, keys, init)
    assert np.all(np.isfinite(np.asarray(metrics["final_perf"])))
    for w, m in zip(jax.tree_util.tree_leaves(outcome.final_mean), jax.tree_util.tree_leaves(mask)):
        assert np.all(np.asarray(w)[~np.asarray(m)] == 0)


@pytest.mark.parametrize("name", ["fetch", "grasp", "ur5e"])
def test_brax_v1_only_tasks_explain_themselves(name):
    with pytest.raises(ConfigError, match="only in Brax v1.*ant, ant_mass15"):
        make_task(name)
