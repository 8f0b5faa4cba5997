"""The trainer contract: what the IMP driver (:func:`lottery_kit.run_imp`) asks of any optimiser."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from ..pruning import RoundOutcome


@runtime_checkable
class Trainer(Protocol):
    """Trains one IMP round for every seed at once.

    ``init``/``mask`` are seed-stacked parameter pytrees (pruned weights exactly zero), ``keys`` one key per seed,
    ``rewind_point`` the run's dense rewind point (it goes into the outcome). It returns the seed-stacked
    :class:`RoundOutcome` and metrics with at least ``final_perf``, ``best_perf`` and ``best_val`` per seed
    (optional: ``failure``/``failure_at`` for :mod:`lottery_kit.guard`). Pruned weights must stay exactly zero.

    Optional members the driver reads when present: ``preflight(task, n_seeds)`` (refuse before any compile),
    ``rewind_step`` (late rewinding: the outcome's ``rewind`` holds the weights after that many steps) and
    ``iterate_statistics`` (the outcome carries ``iterate_mean``/``iterate_std``).
    """

    families: ClassVar[tuple[str, ...]]   # the task families it trains
    search_distribution: ClassVar[bool]   # whether its outcome has a per-weight std (final_std)
    step_unit: ClassVar[str]              # what one step is called in messages ("generation", "epoch", "update")

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = "") -> tuple[RoundOutcome, dict]: ...

    def config(self) -> dict:
        """The settings recorded with the results (with the optimiser's name under ``strategy``)."""
        ...
