"""Trainers: interchangeable optimisers for one IMP round. The IMP driver takes any of them as an argument.

The contract is :class:`Trainer` (:mod:`.protocol`): ``trainer(task, init, mask, keys, rewind_point, desc="") ->
(RoundOutcome, metrics)`` on seed-stacked pytrees, ``config() -> dict`` with its ``strategy`` name, and
``preflight(task, n_seeds)``. Attributes say what it needs and gives: ``families`` (the task families it trains),
``search_distribution`` (whether its outcome carries a per-weight std, which ``sig2noise`` pruning needs),
``iterate_statistics``, ``rewind_step`` and ``step_unit``. Subclassing :class:`Trainer` gives every member a default;
:class:`TrainerWrapper` forwards them all to a wrapped trainer.

| strategy | trainer | task families | search distribution |
|---|---|---|---|
| any distribution-based evosax class (``SNES``, ``Sep_CMA_ES``, ``PGPE``, ...) | :class:`ESTrainer` | all | yes |
| ``Adam`` | :class:`AdamTrainer` (masked Adam) | vision | no |
| ``PPO`` | :class:`PPOTrainer` (gymnax), :class:`BraxPPOTrainer` (Brax's own PPO) | control | no |
| a name given to :func:`register_trainer` | a class of your own | its ``families`` | its own |
"""

from __future__ import annotations

import dataclasses

from ..registry import Registry
from ..strategies import STRATEGIES, strategy_names
from ..validate import ConfigError, choice
from .adam import AdamTrainer
from .brax_ppo import BraxPPOTrainer
from .es import ESTrainer
from .ppo import PPOTrainer
from .protocol import ALL_FAMILIES, Trainer, TrainerWrapper, check_trainer

#: Trainers other than the evolution strategies (which all train with :class:`ESTrainer`), by name, each with its
#: trainer class per task family; :func:`register_trainer` adds one.
TRAINERS: Registry = Registry("trainer", {
    "Adam": {"vision": AdamTrainer},
    "PPO": {"gymnax": PPOTrainer, "minatar": PPOTrainer, "brax": BraxPPOTrainer}})
#: The name :data:`TRAINERS` had when it held the gradient-descent optimisers only.
GRADIENT_TRAINERS = TRAINERS


def register_trainer(name: str, cls: type, families=None, *, replace: bool = False) -> type:
    """Add a trainer class (following :class:`Trainer`) under ``name`` for the task ``families`` (default: the
    class's ``families``), usable by name like ``"Adam"``: the ``optimizer`` of ``imp_gd`` and :func:`run_gd_imp`,
    the ``strategy`` of :func:`lottery_kit.experiment.run_experiment`. The class is a dataclass, built with its
    ``trainer_settings`` as keyword arguments and ``progress`` (:func:`lottery_kit.experiment.build_trainer`)."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and "progress" in cls.__dataclass_fields__):
        raise ConfigError(f"register_trainer takes a trainer class, not {cls!r}: a dataclass following lk.Trainer "
                          "with a progress field, as the kit's trainers (e.g. a subclass of lk.AdamTrainer)")
    check_trainer(cls)
    if name in STRATEGIES:
        raise ConfigError(f"trainer name {name!r} is an evolution strategy's: choose another name")
    families = tuple(cls.families if families is None else families)
    for family in families:
        choice("task family", family, ALL_FAMILIES)
    TRAINERS.register(name, dict.fromkeys(families, cls), replace=replace)
    return cls


def trainer_names() -> list[str]:
    """Every strategy name a trainer can be built for: the evosax classes, ``Adam``, ``PPO`` and registered ones."""
    return strategy_names() + list(TRAINERS)


#: The parameter that sets the length of a round, by trainer class (a registered trainer's subclasses inherit it;
#: others take theirs in ``trainer_settings``).
ROUND_LENGTH = {AdamTrainer: "epochs", PPOTrainer: "total_steps", BraxPPOTrainer: "total_steps"}


def round_length(cls: type) -> str | None:
    """The parameter that sets the length of a round of trainer class ``cls`` (None: one of its trainer settings)."""
    return next((name for base, name in ROUND_LENGTH.items() if issubclass(cls, base)), None)


def trainer_class(strategy: str, family: str) -> type:
    """The trainer class for ``strategy`` on a task of ``family``; a clear error where it does not apply."""
    choice("strategy", strategy, trainer_names())
    if strategy not in TRAINERS:
        return ESTrainer
    by_family = TRAINERS[strategy]
    if family not in by_family:
        fits = ", ".join(f"{name} on {'/'.join(fams)} tasks" for name, fams in TRAINERS.items())
        raise ConfigError(f"optimizer {strategy!r} does not train {family} tasks ({fits}; evolution strategies "
                          "train every task)")
    return by_family[family]


def make_trainer(strategy: str, family: str, **settings):
    """Build the trainer for ``strategy`` on a ``family`` task; ``settings`` are the trainer's fields."""
    cls = trainer_class(strategy, family)
    if cls is ESTrainer:
        return ESTrainer(strategy=strategy, **settings)
    return cls(**settings)


__all__ = ["AdamTrainer", "BraxPPOTrainer", "ESTrainer", "GRADIENT_TRAINERS", "PPOTrainer", "TRAINERS", "Trainer",
           "TrainerWrapper", "make_trainer", "register_trainer", "round_length", "trainer_class", "trainer_names"]
