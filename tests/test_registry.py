"""Registries: a name is registered once (unless replaced), an unknown one lists the valid names, and a trainer
registered by name is built like the kit's own."""

import dataclasses
from typing import ClassVar

import pytest

import lottery_kit as lk
from lottery_kit.experiment import build_trainer
from lottery_kit.registry import Registry
from lottery_kit.trainers import TRAINERS, trainer_class


def test_a_registry_refuses_a_taken_name_unless_replaced_and_names_the_valid_ones():
    shapes = Registry("shape", {"round": 1})
    assert shapes.register("square", 4) == 4 and shapes.lookup("square") == 4
    with pytest.raises(lk.ConfigError, match=r"shape 'square' is already registered \(registered shape names: "
                                             r"round, square\).*replace=True"):
        shapes.register("square", 5)
    assert shapes.register("square", 5, replace=True) == 5 and shapes["square"] == 5
    with pytest.raises(lk.ConfigError, match="unknown shape 'oval'; valid shape names: round, square"):
        shapes.lookup("oval")
    with pytest.raises(lk.ConfigError, match="shape name 3 is not a name"):
        shapes.register(3, "three")


def test_the_same_definition_registered_again_replaces_itself():
    """A notebook cell that defines and registers a score, run twice, registers it twice: no error."""
    shapes, defined = Registry("score"), []
    for _ in range(2):   # the cell's two runs: two function objects of one definition
        def edge_score(mean, std):
            return mean
        defined.append(shapes.register("edge", edge_score))
    assert defined[0] is not defined[1] and shapes["edge"] is defined[1]
    shapes.register("pair", ("vision", edge_score))
    assert shapes.register("pair", ("vision", edge_score)) == ("vision", edge_score)
    with pytest.raises(lk.ConfigError, match="score 'pair' is already registered"):
        shapes.register("pair", ("control", edge_score))
    with pytest.raises(lk.ConfigError, match="score 'edge' is already registered"):
        shapes.register("edge", lambda mean, std: std)   # another definition under the name


@pytest.mark.parametrize("register, match", [
    (lambda: lk.register_score("magnitude", lambda *a: None), "score 'magnitude' is already registered"),
    (lambda: lk.register_baseline("sig2noise", "magnitude"), "baseline 'sig2noise' is already registered"),
    (lambda: lk.register_distribution("erk", None), "distribution 'erk' is already registered"),
    (lambda: lk.register_weights("rewind", None), "weights policy 'rewind' is already registered"),
    (lambda: lk.register_task("digits", None), "task 'digits' is already registered"),
    (lambda: lk.register_strategy("SNES", object), "strategy 'SNES' is already registered"),
    (lambda: lk.register_trainer("Adam", lk.PPOTrainer), "trainer 'Adam' is already registered"),
])
def test_every_registry_keeps_the_kits_own_names(register, match):
    with pytest.raises(lk.ConfigError, match=match):
        register()


@dataclasses.dataclass(frozen=True)
class LabelledAdam(lk.AdamTrainer):
    label: str = "plain"
    name: ClassVar[str] = "LabelledAdam"


def test_a_registered_trainer_is_built_by_name_with_its_settings_and_round_length():
    try:
        assert lk.register_trainer("LabelledAdam", LabelledAdam) is LabelledAdam
        assert trainer_class("LabelledAdam", "vision") is LabelledAdam
        trainer = build_trainer("LabelledAdam", "vision", {"epochs": 3, "trainer_settings": {"label": "mine"}},
                                progress=False)
        assert (type(trainer), trainer.label, trainer.epochs) == (LabelledAdam, "mine", 3)
        assert trainer.config()["strategy"] == "LabelledAdam"
        with pytest.raises(lk.ConfigError, match="optimizer 'LabelledAdam' does not train gymnax tasks"):
            trainer_class("LabelledAdam", "gymnax")
        with pytest.raises(lk.ConfigError, match="LabelledAdam takes no trainer setting 'lr'"):
            build_trainer("LabelledAdam", "vision", {"epochs": 1, "trainer_settings": {"lr": 1}}, progress=False)
    finally:
        TRAINERS.pop("LabelledAdam", None)


@pytest.mark.parametrize("args, match", [
    (("x", lk.AdamTrainer(progress=False)), "register_trainer takes a trainer class"),
    (("x", object), "register_trainer takes a trainer class"),
    (("SNES", LabelledAdam), "trainer name 'SNES' is an evolution strategy's"),
    (("x", LabelledAdam, ("pictures",)), "unknown task family 'pictures'"),
])
def test_register_trainer_refuses_what_cannot_be_built_by_name(args, match):
    with pytest.raises(lk.ConfigError, match=match):
        lk.register_trainer(*args)
    assert "x" not in TRAINERS
