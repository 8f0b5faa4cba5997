"""Brax with tiny settings (Brax compiles slowly on CPU): the heavier-torso ant trains under a mask."""

import jax
import numpy as np
import pytest

from lottery_kit import ConfigError, make_task, masks

pytestmark = [pytest.mark.xdist_group("brax"), pytest.mark.slow]  # one worker: Brax compiles once for both tests


TINY = {"n_rollouts": 1, "n_eval_episodes": 2, "episode_length": 10}


@pytest.fixture(scope="module")
def ant_ticket(tmp_path_factory):
    """A 2-round ES-IMP run on the heavier-torso ant (round 2 trains under a mask), shared by both tests below:
    Brax's programs are the slowest to compile, so they compile once."""
    import lottery_kit as lk

    out = tmp_path_factory.mktemp("ant") / "es"
    df = lk.run_es_imp(task="ant_mass15", strategy="SNES", baseline="final-ticket", seeds=[0], rounds=2,
                       keep_ratio=0.5, generations=2, popsize=4, eval_every=1, out_dir=out, task_options=TINY,
                       progress=False)
    return out, df


def test_ant_mass15_masked_round_and_heavier_torso(ant_ticket):
    import lottery_kit as lk
    from brax import envs

    from lottery_kit.tasks.brax_tasks import _heavier_torso

    base = envs.get_environment("ant", backend="spring")
    heavy = _heavier_torso(envs.get_environment("ant", backend="spring"), 1.5)
    np.testing.assert_allclose(heavy.sys.body_mass[1], 1.5 * base.sys.body_mass[1], rtol=1e-6)
    np.testing.assert_allclose(heavy.sys.body_mass[2:], base.sys.body_mass[2:])

    out, df = ant_ticket
    assert np.all(np.isfinite(df["final_perf"]))
    dense, pruned = lk.load_round(out, 0, 1), lk.load_round(out, 0, 2)
    n = masks.num_prunable(dense["init"])
    assert n == 27 * 32 + 32 * 32 + 32 * 8  # MLP 2x32 on ant's 27 observations, 8 actions
    assert int(masks.kept_count(pruned["mask"])) == n // 2
    for w, m in zip(jax.tree_util.tree_leaves(pruned["final_mean"]), jax.tree_util.tree_leaves(pruned["mask"])):
        assert np.all(np.asarray(w)[~np.asarray(m)] == 0)


@pytest.mark.parametrize("name", ["fetch", "grasp", "ur5e"])
def test_brax_v1_only_tasks_explain_themselves(name):
    with pytest.raises(ConfigError, match="only in Brax v1.*ant, ant_mass15"):
        make_task(name)


def test_es_ticket_on_ant_trains_with_braxs_ppo_in_the_mean_action_columns(tmp_path, ant_ticket):
    """The paper's ES→PPO transfer on ant, tiny: Brax's PPO trains the masked policy; pruned weights stay zero."""
    import lottery_kit as lk
    from lottery_kit.transfer import run_transfer

    es, _ = ant_ticket
    ppo = dict(num_envs=8, batch_size=8, num_minibatches=2, unroll_length=4, n_evals=2, episode_length=10,
               value_hidden=(16,))
    df = run_transfer(es, "ant_mass15", "PPO", [2], out_dir=tmp_path / "ppo", total_steps=256,
                      trainer_settings=ppo, task_options=TINY | {"policy_head": "tanh_normal", "activation": "swish"},
                      progress=False)
    assert df["strategy"].tolist() == ["PPO"] and np.isfinite(df["best_perf"]).all()
    source, got = lk.load_round(es, 0, 2), lk.load_round(tmp_path / "ppo", 0, 2)
    n_act = 8
    np.testing.assert_array_equal(got["mask"]["params"]["Dense_2"]["kernel"][:, :n_act],
                                  source["mask"]["params"]["Dense_2"]["kernel"])
    np.testing.assert_array_equal(got["init"]["params"]["Dense_1"]["kernel"], source["init"]["params"]["Dense_1"]["kernel"])
    assert int(masks.kept_count(got["mask"])) == int(masks.kept_count(source["mask"])) + 32 * n_act  # scale columns
    for w, w0, m in zip(jax.tree_util.tree_leaves(got["final_mean"]), jax.tree_util.tree_leaves(got["init"]),
                        jax.tree_util.tree_leaves(got["mask"])):
        w, w0, m = np.asarray(w), np.asarray(w0), np.asarray(m)
        assert np.all(w[~m] == 0) and np.any(w[m] != w0[m])  # pruned stay zero, kept ones trained
