"""The trainer contract: every member the IMP driver (:func:`lottery_kit.run_imp`) and the baselines' checks
(:func:`lottery_kit.pruning.baselines.check_needs`) read from an optimiser, each with its default.

A trainer states every member: subclass :class:`Trainer` to inherit the defaults, or define them all on an object
of your own (``run_imp`` refuses one that lacks any, naming them). A trainer that wraps another derives from
:class:`TrainerWrapper`, which forwards every member to the wrapped one.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from ..pruning import RoundOutcome
from ..validate import ConfigError

#: Every task family (``lottery_kit.tasks.FAMILIES``); a trainer that states none trains them all.
ALL_FAMILIES = ("vision", "gymnax", "minatar", "brax")


@runtime_checkable
class Trainer(Protocol):
    """Trains one IMP round for every seed at once.

    ``init``/``mask`` are seed-stacked parameter pytrees (pruned weights exactly zero), ``keys`` one key per seed,
    ``rewind_point`` the run's dense rewind point (it goes into the outcome). It returns the seed-stacked
    :class:`RoundOutcome` and metrics with at least ``final_perf``, ``best_perf`` and ``best_val`` per seed
    (optional: ``failure``/``failure_at`` for :mod:`lottery_kit.guard`). Pruned weights must stay exactly zero.
    """

    families: ClassVar[tuple[str, ...]] = ALL_FAMILIES   # the task families it trains
    search_distribution: ClassVar[bool] = False   # whether its outcome has a per-weight std (final_std; sig2noise)
    step_unit: ClassVar[str] = "step"             # what one step is called in messages ("generation", "epoch", ...)
    UPSTREAM_NAMES: ClassVar[dict[str, str]] = {}  # a setting's name in the library it wraps, where that differs
    rewind_step: int = 0              # late rewinding: the outcome's ``rewind`` holds the weights after this many steps
    iterate_statistics: bool = False  # the outcome carries ``iterate_mean``/``iterate_std`` (iterate-snr)

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = "") -> tuple[RoundOutcome, dict]: ...

    def config(self) -> dict:
        """The settings recorded with the results (with the optimiser's name under ``strategy``)."""
        ...

    def preflight(self, task, n_seeds: int) -> None:
        """Refuse, before any compile, what cannot run (e.g. a population that cannot fit); default: nothing."""


#: The members of the contract, in the order a refusal lists them.
MEMBERS = ("__call__", "config", "preflight", "families", "search_distribution", "step_unit", "rewind_step",
           "iterate_statistics")


def check_trainer(trainer) -> None:
    """Refuse an object (or a class) that does not state every member of :class:`Trainer`, naming the missing ones."""
    missing = [m for m in MEMBERS if not hasattr(trainer, m)]
    if missing:
        raise ConfigError(f"trainer {(trainer if isinstance(trainer, type) else type(trainer)).__name__} lacks {', '.join(missing)}: subclass "
                          "lottery_kit.Trainer (which gives every member a default) or define them "
                          f"(the contract's members: {', '.join(MEMBERS)})")


def _forwarded(name: str):
    return property(lambda self: getattr(self.inner, name), doc=f"The wrapped trainer's ``{name}``.")


class TrainerWrapper(Trainer):
    """A trainer around ``inner``: every member of the contract is the inner trainer's, and ``__call__`` trains
    with it; a subclass overrides what it changes (e.g. ``__call__`` to time every round)."""

    def __init__(self, inner):
        check_trainer(inner)
        self.inner = inner

    families = _forwarded("families")
    search_distribution = _forwarded("search_distribution")
    step_unit = _forwarded("step_unit")
    rewind_step = _forwarded("rewind_step")
    iterate_statistics = _forwarded("iterate_statistics")

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = ""):
        return self.inner(task, init, mask, keys, rewind_point, desc=desc)

    def config(self) -> dict:
        return self.inner.config()

    def preflight(self, task, n_seeds: int) -> None:
        self.inner.preflight(task, n_seeds)
