"""Bad input fails before any work, naming the parameter and the valid choices or range."""

import pytest

import lottery_kit as lk
from lottery_kit import ConfigError

GOOD = dict(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0], rounds=2, keep_ratio=0.5,
            generations=10, popsize=8, eval_every=5, out_dir="unused")


@pytest.mark.parametrize("change, match", [
    (dict(task="cartpole"), r"unknown task 'cartpole'; valid task names: .*CartPole-v1.*fmnist"),
    (dict(strategy="CMA"), r"unknown strategy 'CMA'; valid strategy names: .*Sep_CMA_ES"),
    (dict(baseline="magnitude"), r"unknown baseline 'magnitude'; valid baseline names: .*final-ticket.*sig2noise"),
    (dict(keep_ratio=1.0), r"keep_ratio=1.0 is out of range: it must lie in \(0.0, 1.0\)"),
    (dict(keep_ratio=0), r"keep_ratio=0 is out of range"),
    (dict(popsize=1), r"popsize=1 is out of range: it must lie in \[2, inf\)"),
    (dict(rounds=0), r"rounds=0 is out of range"),
    (dict(seeds=[]), r"seeds is empty"),
    (dict(eval_every=20), r"eval_every=20 is out of range"),
])
def test_bad_parameters_are_named(tmp_path, change, match):
    with pytest.raises(ConfigError, match=match):
        lk.run_es_imp(**(GOOD | {"out_dir": tmp_path} | change))
    assert not any(tmp_path.iterdir())  # nothing was written


def test_make_task_lists_valid_names():
    with pytest.raises(ConfigError, match="valid task names: .*Pendulum-v1"):
        lk.make_task("Pendulum")


def test_unknown_task_options_list_the_valid_ones():
    with pytest.raises(ConfigError, match=r"task 'fmnist' \(vision\) takes no option 'n_rollouts'; its options: "
                                          r"batch_size, data_dir"):
        lk.make_task("fmnist", n_rollouts=4)
    with pytest.raises(ConfigError, match=r"takes no option 'batch_size'; its options: n_rollouts"):
        lk.make_task("CartPole-v1", batch_size=256)


@pytest.mark.parametrize("task, small, paper_popsize", [
    ("fmnist", {"batch_size": 256}, 128),
    ("Pendulum-v1", {"n_rollouts": 4, "n_eval_episodes": 16}, 100),
    ("Breakout-MinAtar", {"n_rollouts": 4, "n_eval_episodes": 16}, 256),
    ("ant", {"n_rollouts": 1, "n_eval_episodes": 4, "episode_length": 100}, 256),
])
def test_presets_resolve_task_options_per_family(task, small, paper_popsize):
    from lottery_kit.experiment import apply_preset
    from lottery_kit.tasks import task_options

    es = dict(popsize=16, generations=20, eval_every=10, rounds=3, keep_ratio=0.5, mean_decay=0.0)
    assert apply_preset("small", task, es | {"task_options": {}}) == es | {"task_options": small}
    assert set(small) <= set(task_options(task))  # the small options exist for that family
    given = {"n_eval_episodes": 2} if "n_rollouts" in small else {"batch_size": 32}
    assert apply_preset("small", task, es | {"task_options": given})["task_options"] == small | given  # given wins
    paper = apply_preset("paper", task, es | {"task_options": {}})
    assert paper["popsize"] == paper_popsize and paper["rounds"] == 20 and paper["keep_ratio"] == 0.8
    assert paper["task_options"] == {}  # the constructors' defaults are the paper's
    with pytest.raises(ConfigError, match="valid preset names: paper, small"):
        apply_preset("huge", task, es)


def test_paper_preset_on_fashion_mnist_builds_the_papers_task():
    from lottery_kit.experiment import apply_preset

    params = apply_preset("paper", "fmnist", {"task_options": {}})
    task = lk.make_task("fmnist", **params["task_options"])
    split_sizes = task.data["x_train"].shape[0], task.data["x_val"].shape[0], task.data["x_test"].shape[0]
    assert split_sizes == (55000, 5000, 10000) and params["generations"] == 4000
