"""The typed run configuration: committed results keep loading, a run records exactly its configuration's identity,
the old parameter names stay aliases, and the Python API takes keywords."""

import json
from pathlib import Path

import pytest

import lottery_kit as lk
from lottery_kit import ConfigError
from lottery_kit.identity import recorded
from lottery_kit.run_config import (OneShotConfig, PruningPlan, RunConfig, TaskConfig, TrainerConfig, TransferConfig,
                                    for_trainer)
from lottery_kit.store import identity_digest, load_config
from lottery_kit.tasks import task_family

ROOT = Path(__file__).resolve().parents[1]
STORED = sorted(p for pattern in ("papers_figures/results*/**/config.json", "notebooks/**/config.json",
                                  "tests/**/config.json") for p in ROOT.glob(pattern))
IMP_RUNS = [p for p in STORED if "transfer" not in load_config(p.parent)["config"]]
TRANSFERS = [p for p in STORED if "transfer" in load_config(p.parent)["config"]]
TINY = dict(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=2, keep_ratio=0.5,
            generations=2, popsize=4, eval_every=1, task_options={"n_rollouts": 1, "n_eval_episodes": 2})


def _json(config: dict) -> dict:
    return json.loads(json.dumps(config, default=str))


def _name(path: Path) -> str:
    return str(path.parent.relative_to(ROOT))


def test_the_committed_results_are_found():
    assert len(IMP_RUNS) >= 40 and len(TRANSFERS) >= 5
    trainers = {load_config(p.parent)["config"]["trainer"]["strategy"] for p in IMP_RUNS}
    assert trainers >= {"SNES", "PGPE", "Adam", "PPO"}


@pytest.mark.parametrize("path", IMP_RUNS, ids=_name)
def test_committed_results_keep_loading(path):
    """Each committed IMP run's config.json, read into a RunConfig, gives back the identity it stores: a run of the
    same configuration today records the same config.json and resumes from that directory."""
    stored = load_config(path.parent)["config"]
    config = RunConfig.from_identity(stored)
    again = _json(config.identity(devices=stored.get("devices", 1)))
    assert again == stored
    assert identity_digest(again) == identity_digest(stored)


@pytest.mark.parametrize("path", TRANSFERS, ids=_name)
def test_committed_transfers_keep_loading(path):
    """Each committed transfer's config.json, read into a TransferConfig, gives back the identity it stores."""
    stored = load_config(path.parent)["config"]
    config = lk.load_run_config(path.parent)
    assert isinstance(config, TransferConfig) and _json(config.identity()) == stored
    trainer = TrainerConfig.from_identity(stored["trainer"]).build(task_family(stored["task"]), progress=False)
    assert _json(trainer.config()) == stored["trainer"]
    with pytest.raises(ConfigError, match="not an IMP run"):
        RunConfig.from_identity(stored)


def test_a_transfer_and_a_one_shot_run_record_their_configurations(tmp_path):
    """run_transfer and run_oneshot_es record exactly their typed configuration's identity; the configuration read
    back from the directory runs again through lk.run_experiment and resumes (nothing trains twice)."""
    source = tmp_path / "source"
    lk.run_experiment(RunConfig.from_parameters(**TINY), source, progress=False, devices=1)
    transfer = tmp_path / "transfer"
    rows = lk.run_transfer(source, "CartPole-v1", "PGPE", [2], out_dir=transfer, popsize=4, generations=2,
                           eval_every=1, task_options=TINY["task_options"], progress=False)
    config = lk.load_run_config(transfer)
    assert isinstance(config, TransferConfig) and config.rounds == (2,) and config.seeds == (0, 1)
    assert config.source.run_dir == str(source.resolve()) and config.source.baseline == "sig2noise"
    assert load_config(transfer)["config"] == _json(config.identity())
    assert lk.run_experiment(config, transfer, progress=False).equals(rows)

    oneshot = tmp_path / "oneshot"
    rows = lk.run_oneshot_es("CartPole-v1", "SNES", "final-ticket", seeds=[0], sparsity=0.5, dense_dir=tmp_path / "d",
                             out_dir=oneshot, popsize=4, generations=2, eval_every=1, min_per_layer=1,
                             task_options=TINY["task_options"], progress=False)
    config = lk.load_run_config(oneshot)
    assert isinstance(config, OneShotConfig) and config.min_per_layer == 1 and config.sparsity == 0.5
    assert load_config(oneshot)["config"] == _json(config.identity())
    assert lk.run_experiment(config, oneshot, progress=False).equals(rows)


def test_a_notebook_for_every_trainer_passes_only_the_targets_parameters():
    given = dict(popsize=8, generations=4, eval_every=2, mean_decay=0.0, strategy_settings={}, epochs=3,
                 total_steps=100, trainer_settings={})
    assert for_trainer("PGPE", given) == dict(popsize=8, generations=4, eval_every=2, mean_decay=0.0,
                                              strategy_settings={})
    assert for_trainer("Adam", given) == dict(epochs=3, trainer_settings={})
    assert for_trainer("PPO", given) == dict(total_steps=100, trainer_settings={})
    with pytest.raises(ConfigError, match=r"strategy_settings=\{'std_init': 0.1\} are settings of an evolution "
                                          "strategy, and 'Adam' is a gradient-descent optimiser: give them as "
                                          "trainer_settings"):
        for_trainer("Adam", given | {"strategy_settings": {"std_init": 0.1}})


def test_a_transfer_refuses_what_its_trainer_does_not_take(tmp_path):
    with pytest.raises(ConfigError, match="no parameter 'keep_ratio'"):
        lk.run_transfer(None, "CartPole-v1", "SNES", out_dir=tmp_path / "t", popsize=4, generations=2, eval_every=1,
                        keep_ratio=0.5)
    assert not (tmp_path / "t").exists()


def test_a_run_records_its_configuration_and_resumes_from_it(tmp_path):
    config = RunConfig.from_parameters(**TINY, training_replicate=1, distribution="layerwise")
    rows = lk.run_experiment(config, tmp_path, progress=False, devices=1)
    stored = load_config(tmp_path)["config"]
    assert stored == _json(config.identity(devices=1))
    assert stored["training_replicate"] == 1 and stored["distribution"] == "layerwise"
    assert RunConfig.from_run_dir(tmp_path) == config
    again = lk.run_experiment(RunConfig.from_run_dir(tmp_path), tmp_path, progress=False, devices=1)   # resumes
    assert again.equals(rows)
    other = RunConfig.from_parameters(**(TINY | {"popsize": 6}), training_replicate=1, distribution="layerwise")
    with pytest.raises(ConfigError, match="different configuration .*differs in: trainer"):
        lk.run_experiment(other, tmp_path, progress=False, devices=1)


def test_settings_at_their_defaults_stay_out_of_the_identity():
    assert recorded({"training_replicate": 0, "rewind_step": 0, "iterate_statistics": False, "devices": 1}) == {}
    assert recorded({"training_replicate": 2, "devices": 2}) == {"training_replicate": 2, "devices": 2}
    dense = {"distribution": "global", "erk_power": 1.0, "min_per_layer": 0}
    assert recorded(dense | {"signal": "final"}) == {"signal": "final"}
    assert recorded(dense | {"min_per_layer": 3}) == dense | {"min_per_layer": 3}   # the group, all or none
    plain, late = RunConfig.from_parameters(**TINY), RunConfig.from_parameters(**TINY, rewind_step=1)
    assert "rewind_step" not in plain.identity()["trainer"] and late.identity()["trainer"]["rewind_step"] == 1
    assert plain.identity(devices=2)["devices"] == 2 and "devices" not in plain.identity(devices=1)


def test_the_old_names_are_aliases():
    es = {k: v for k, v in TINY.items() if k != "strategy"}
    by_trainer = RunConfig.from_parameters(**es, trainer="SNES", settings={"std_init": 0.1})
    assert by_trainer == RunConfig.from_parameters(**es, strategy="SNES", strategy_settings={"std_init": 0.1})
    assert by_trainer.trainer == TrainerConfig("SNES", {"std_init": 0.1}, popsize=4, generations=2, eval_every=1)
    assert by_trainer.task == TaskConfig("CartPole-v1", {"n_rollouts": 1, "n_eval_episodes": 2})
    assert by_trainer.pruning == PruningPlan("sig2noise", (0, 1), 2, 0.5)
    gd = dict(task="digits", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5, epochs=1)
    adam = RunConfig.from_parameters(**gd, optimizer="Adam", trainer_settings={"batch_size": 64})
    assert adam == RunConfig.from_parameters(**gd, trainer="Adam", settings={"batch_size": 64})
    assert adam.identity()["trainer"] == {"strategy": "Adam", "learning_rate": 3e-4, "batch_size": 64, "epochs": 1}


@pytest.mark.parametrize("change, message", [
    ({"trainer": "SNES"}, "trainer='SNES' and strategy='SNES' both give the trainer's name: give one of"),
    ({"settings": {}, "strategy_settings": {}}, "settings={} and strategy_settings={} both give the trainer settings"),
    ({"strategy": None}, "the trainer's name is missing: give one of trainer, strategy, optimizer"),
    ({"popsize": None}, "'SNES' needs popsize, generations and eval_every .given: generations, eval_every."),
    ({"strategy": None, "optimizer": "SNES"}, "unknown optimizer 'SNES'; valid optimizer names: Adam, PPO"),
    ({"strategy": "Adam", "task": "digits"}, "popsize, generations, eval_every are settings of an evolution strategy"),
    ({"generation": 3}, "a run configuration has no parameter 'generation'; its parameters: task, task_options"),
    ({"strategy_settings": "std_init=0.1"}, "strategy_settings='std_init=0.1' is not a mapping"),
    ({"signal": "last"}, "unknown signal 'last'"),
])
def test_a_bad_configuration_is_refused_when_made(change, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_parameters(**(TINY | change))


def test_a_preset_is_applied_in_the_same_call():
    paper = RunConfig.from_parameters(preset="paper", **TINY)
    assert (paper.trainer.popsize, paper.trainer.generations, paper.pruning.rounds) == (100, 2000, 20)
    assert paper.task.options == TINY["task_options"]   # given task options win
    small = RunConfig.from_parameters(preset="small", **(TINY | {"task_options": {}}))
    assert small.task.options == {"n_rollouts": 4, "n_eval_episodes": 16} and small.trainer.popsize == 4


def test_the_python_api_takes_keywords():
    with pytest.raises(TypeError, match="positional"):
        lk.run_es_imp("CartPole-v1", "SNES", "sig2noise", [0], 2, 0.5, 2, 4, 1, "x")
    with pytest.raises(TypeError, match="positional"):
        lk.run_gd_imp("digits", "Adam", "final-ticket", [0], 2, 0.5, "x")
    with pytest.raises(TypeError, match="positional"):
        lk.run_experiment(RunConfig.from_parameters(**TINY), "x", False)
