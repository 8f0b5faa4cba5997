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
