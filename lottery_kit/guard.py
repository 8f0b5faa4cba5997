"""The numerical guard: a round whose training turns non-finite, or whose σ collapses or blows up, stops with an error.

Trainers check values their scan already holds, once per evaluation block (no host round-trip per generation), and
report per seed ``failure`` (a code of :data:`FAILURES`, 0 when all is well; the first failure is kept) and
``failure_at`` (the generation, epoch or update of the block that caught it) among their metrics. The IMP driver
calls :func:`check` before the round is stored, so the finished rounds stay and the run resumes at this round.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

#: A σ below this (float32 reaches 1e-38) has collapsed; above the ceiling the search has blown up.
SIGMA_FLOOR = 1e-20
SIGMA_CEILING = 1e4
#: code -> (what went wrong, a remedy).
FAILURES = {
    1: ("the training fitness is not finite (NaN or inf)",
        "a smaller std_init, or check the task's fitness for overflow"),
    2: ("the ES mean is not finite", "a smaller std_init or learning rate (lr)"),
    3: ("the ES search std σ is not finite", "a smaller std_init"),
    4: (f"the ES search std σ collapsed below {SIGMA_FLOOR:g}", "a larger std_init or fewer generations"),
    5: (f"the ES search std σ grew past {SIGMA_CEILING:g}", "a smaller std_init"),
    6: ("the training loss is not finite (NaN or inf)", "a smaller learning_rate"),
    7: ("the network's weights are not finite", "a smaller learning_rate or max_grad_norm"),
}


class NumericalError(RuntimeError):
    """Training produced non-finite numbers or a degenerate search distribution; the message says where."""


def es_failure(fitness_means, mean, std):
    """The failure code of one ES evaluation block (0: none) and the offset of the first bad generation in it."""
    bad_fitness = ~jnp.isfinite(fitness_means)
    codes = jnp.array([bad_fitness.any(), ~jnp.isfinite(mean).all(), ~jnp.isfinite(std).all(),
                       jnp.min(std) < SIGMA_FLOOR, jnp.max(std) > SIGMA_CEILING])
    code = jnp.where(codes.any(), jnp.argmax(codes) + 1, 0)
    offset = jnp.where(bad_fitness.any(), jnp.argmax(bad_fitness), fitness_means.shape[0] - 1)
    return code, offset


def first(failure, failure_at, code, at):
    """Keep the first failure of a scan: (failure, failure_at) unless it is still 0, then (code, at)."""
    fresh = (failure == 0) & (code != 0)
    return jnp.where(fresh, code, failure), jnp.where(fresh, at, failure_at)


def check(metrics: dict, round_: int, seeds, unit: str) -> None:
    """Raise :class:`NumericalError` for the first seed whose ``failure`` is set, naming round, step and remedy."""
    if "failure" not in metrics:
        return
    failure = np.asarray(metrics["failure"]).reshape(-1)
    at = np.asarray(metrics["failure_at"]).reshape(-1)
    for seed, code, step in zip(seeds, failure, at):
        if code:
            what, remedy = FAILURES[int(code)]
            raise NumericalError(f"round {round_}, {unit} {int(step) + 1}, seed {seed}: {what}. Try {remedy}. The "
                                 f"rounds before round {round_} are stored; running again resumes at round {round_}.")


__all__ = ["FAILURES", "NumericalError", "check", "es_failure", "first"]
