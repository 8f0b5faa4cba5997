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
"""

from __future__ import annotations

from ..strategies import strategy_names
from ..validate import ConfigError, choice
from .adam import AdamTrainer
from .brax_ppo import BraxPPOTrainer
from .es import ESTrainer
from .ppo import PPOTrainer
from .protocol import Trainer, TrainerWrapper

#: Gradient-descent optimisers by name, each with its trainer class per task family.
GRADIENT_TRAINERS = {"Adam": {"vision": AdamTrainer},
                     "PPO": {"gymnax": PPOTrainer, "minatar": PPOTrainer, "brax": BraxPPOTrainer}}


def trainer_names() -> list[str]:
    """Every strategy name a trainer can be built for: the evosax classes, ``Adam`` and ``PPO``."""
    return strategy_names() + list(GRADIENT_TRAINERS)


def trainer_class(strategy: str, family: str) -> type:
    """The trainer class for ``strategy`` on a task of ``family``; a clear error where it does not apply."""
    choice("strategy", strategy, trainer_names())
    if strategy not in GRADIENT_TRAINERS:
        return ESTrainer
    by_family = GRADIENT_TRAINERS[strategy]
    if family not in by_family:
        fits = ", ".join(f"{name} on {'/'.join(fams)} tasks" for name, fams in GRADIENT_TRAINERS.items())
        raise ConfigError(f"optimizer {strategy!r} does not train {family} tasks ({fits}; evolution strategies "
                          "train every task)")
    return by_family[family]


def make_trainer(strategy: str, family: str, **settings):
    """Build the trainer for ``strategy`` on a ``family`` task; ``settings`` are the trainer's fields."""
    cls = trainer_class(strategy, family)
    if cls is ESTrainer:
        return ESTrainer(strategy=strategy, **settings)
    return cls(**settings)


__all__ = ["AdamTrainer", "BraxPPOTrainer", "ESTrainer", "GRADIENT_TRAINERS", "PPOTrainer", "Trainer", "TrainerWrapper",
           "make_trainer", "trainer_class", "trainer_names"]
