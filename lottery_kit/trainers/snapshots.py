"""What a trainer keeps of its trajectory besides the end: the weights after ``rewind_step`` steps (late
rewinding, Frankle et al. 2019) and running iterate statistics (mean and std of the iterates over the round's last
epoch or update block, Welford's algorithm), both inside the jitted round."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..validate import number


def check_rewind_step(rewind_step, steps: int, unit: str) -> None:
    number("rewind_step", rewind_step, integer=True, low=0, high=steps,
           why=f"the weights after that many {unit}s of round 1; a round has {steps}")


def keep_at(step, rewind_step: int, weights, snapshot):
    """``weights`` when ``step`` (1-based, traced) is ``rewind_step``, else ``snapshot``."""
    return jax.tree_util.tree_map(lambda w, s: jnp.where(step == rewind_step, w, s), weights, snapshot)


def iterates_init(weights):
    """Welford's (count, mean, sum of squared deviations) of no iterate yet."""
    zeros = jax.tree_util.tree_map(jnp.zeros_like, weights)
    return jnp.zeros(()), zeros, zeros


def iterates_add(stats, weights, include):
    """Add one iterate where ``include`` (traced bool)."""
    n, mean, m2 = stats
    n1 = n + 1.0
    delta = jax.tree_util.tree_map(lambda w, m: w - m, weights, mean)
    new_mean = jax.tree_util.tree_map(lambda m, d: m + d / n1, mean, delta)
    new_m2 = jax.tree_util.tree_map(lambda s, d, w, m: s + d * (w - m), m2, delta, weights, new_mean)
    pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(include, x, y), a, b)  # noqa: E731
    return jnp.where(include, n1, n), pick(new_mean, mean), pick(new_m2, m2)


def iterates_result(stats):
    """(mean, std) of the iterates added (population std)."""
    n, mean, m2 = stats
    return mean, jax.tree_util.tree_map(lambda s: jnp.sqrt(s / jnp.maximum(n, 1.0)), m2)
