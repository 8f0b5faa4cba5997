"""The one-shot runner by name builds its trainer as IMP does: every ES setting reaches the trained rounds."""

import pytest

import lottery_kit as lk

TINY = dict(seeds=[0], sparsity=0.5, generations=4, popsize=8, eval_every=2,
            task_options={"n_rollouts": 2, "n_eval_episodes": 2}, progress=False)


def test_one_shot_es_passes_es_rules_and_strategy_settings_to_its_trainer(tmp_path):
    rows = lk.run_oneshot_es("CartPole-v1", "SNES", "final-ticket", dense_dir=tmp_path / "dense", out_dir=tmp_path / "o",
                             es_rules="evosax-0.3", strategy_settings={"std_init": 0.07},
                             sigma_convention="original", **TINY)
    assert rows["round"].tolist() == [1] and rows["target_sparsity"].tolist() == [0.5]
    for run in ("o", "dense"):   # the pruned round and the dense run it shares
        trainer = lk.load_config(tmp_path / run)["config"]["trainer"]
        assert (trainer["es_rules"], trainer["settings"], trainer["sigma_convention"]) == (
            "evosax-0.3", {"std_init": 0.07}, "original"), run


@pytest.mark.parametrize("call, match", [
    (dict(strategy="Adam"), "strategy 'Adam' is a gradient-descent optimiser"),
    (dict(es_rules="paper-ish"), "unknown es_rules 'paper-ish'"),
    (dict(strategy_settings={"sigma0": 0.1}), "SNES takes no strategy setting 'sigma0'"),
])
def test_one_shot_es_refuses_bad_settings_before_anything_runs(tmp_path, call, match):
    args = dict(task="CartPole-v1", strategy="SNES", baseline="final-ticket") | call
    with pytest.raises(lk.ConfigError, match=match):
        lk.run_oneshot_es(args.pop("task"), args.pop("strategy"), args.pop("baseline"), dense_dir=tmp_path / "d",
                          out_dir=tmp_path / "o", **args, **TINY)
    assert not (tmp_path / "d").exists() and not (tmp_path / "o").exists()
