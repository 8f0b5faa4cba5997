"""The numerical guard: a round whose training turns non-finite, or whose σ collapses or blows up, stops with an error.

Trainers check values their scan already holds, once per evaluation block (no host round-trip per generation), and
report per seed ``failure`` (a :class:`Failure` code, ``Failure.NONE`` (0) when all is well; the first failure is kept) and
``failure_at`` (the generation, epoch or update of the block that caught it) among their metrics. The IMP driver
calls :func:`check` before the round is stored, so the finished rounds stay and the run resumes at this round.
"""

from __future__ import annotations

from enum import IntEnum

import jax.numpy as jnp
import numpy as np

#: A σ below this (float32 reaches 1e-38) has collapsed; above the ceiling the search has blown up.
SIGMA_FLOOR = 1e-20
SIGMA_CEILING = 1e4


class Failure(IntEnum):
    """What went wrong in a round; the value is what the ``failure`` metric stores (results keep it)."""

    NONE = 0
    FITNESS_NOT_FINITE = 1
    MEAN_NOT_FINITE = 2      # the ES mean
    SIGMA_NOT_FINITE = 3     # the ES search std σ
    SIGMA_COLLAPSED = 4
    SIGMA_EXPLODED = 5
    LOSS_NOT_FINITE = 6
    WEIGHTS_NOT_FINITE = 7


#: code -> (what went wrong, a remedy).
FAILURES = {
    Failure.FITNESS_NOT_FINITE: ("the training fitness is not finite (NaN or inf)",
                                 "a smaller std_init, or check the task's fitness for overflow"),
    Failure.MEAN_NOT_FINITE: ("the ES mean is not finite", "a smaller std_init or learning rate (lr)"),
    Failure.SIGMA_NOT_FINITE: ("the ES search std σ is not finite", "a smaller std_init"),
    Failure.SIGMA_COLLAPSED: (f"the ES search std σ collapsed below {SIGMA_FLOOR:g}",
                              "a larger std_init or fewer generations"),
    Failure.SIGMA_EXPLODED: (f"the ES search std σ grew past {SIGMA_CEILING:g}", "a smaller std_init"),
    Failure.LOSS_NOT_FINITE: ("the training loss is not finite (NaN or inf)", "a smaller learning_rate"),
    Failure.WEIGHTS_NOT_FINITE: ("the network's weights are not finite", "a smaller learning_rate or max_grad_norm"),
}


class NumericalError(RuntimeError):
    """Training produced non-finite numbers or a degenerate search distribution; the message says where."""


def es_failure(fitness_means, mean, std):
    """The failure code of one ES evaluation block (``Failure.NONE``: none) and the offset of the first bad
    generation in it."""
    bad_fitness = ~jnp.isfinite(fitness_means)
    checks = {   # in order of precedence: the first that holds is the block's code
        Failure.FITNESS_NOT_FINITE: bad_fitness.any(), Failure.MEAN_NOT_FINITE: ~jnp.isfinite(mean).all(),
        Failure.SIGMA_NOT_FINITE: ~jnp.isfinite(std).all(), Failure.SIGMA_COLLAPSED: jnp.min(std) < SIGMA_FLOOR,
        Failure.SIGMA_EXPLODED: jnp.max(std) > SIGMA_CEILING}
    found = jnp.array(list(checks.values()))
    code = jnp.where(found.any(), jnp.array([int(f) for f in checks])[jnp.argmax(found)], int(Failure.NONE))
    offset = jnp.where(bad_fitness.any(), jnp.argmax(bad_fitness), fitness_means.shape[0] - 1)
    return code, offset


def no_failure():
    """A scan's record before anything went wrong: ``(failure, failure_at)``."""
    return jnp.array(int(Failure.NONE)), jnp.array(0)


def unless(ok, failure: Failure):
    """``Failure.NONE`` where ``ok`` (traced bool), else ``failure``."""
    return jnp.where(ok, int(Failure.NONE), int(failure))


def first(failure, failure_at, code, at):
    """Keep the first failure of a scan: (failure, failure_at) unless it is still ``Failure.NONE``, then (code, at)."""
    fresh = (failure == Failure.NONE) & (code != Failure.NONE)
    return jnp.where(fresh, code, failure), jnp.where(fresh, at, failure_at)


def metrics(record) -> dict:
    """A scan's final ``(failure, failure_at)`` as the trainer's metrics."""
    return {"failure": record[0], "failure_at": record[1]}


def check(metrics: dict, round_: int, seeds, unit: str) -> None:
    """Raise :class:`NumericalError` for the first seed whose ``failure`` is set, naming round, step and remedy."""
    if "failure" not in metrics:
        return
    failure = np.asarray(metrics["failure"]).reshape(-1)
    at = np.asarray(metrics["failure_at"]).reshape(-1)
    for seed, code, step in zip(seeds, failure, at):
        if code:
            what, remedy = FAILURES[Failure(int(code))]
            raise NumericalError(f"round {round_}, {unit} {int(step) + 1}, seed {seed}: {what}. Try {remedy}. The "
                                 f"rounds before round {round_} are stored; running again resumes at round {round_}.")


__all__ = ["FAILURES", "Failure", "NumericalError", "check", "es_failure", "first", "metrics", "no_failure", "unless"]
