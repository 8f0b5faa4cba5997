"""Linear mode connectivity: the score along the straight line between two networks, and its barrier.

The barrier is the largest drop of the score below the straight line joining the two end points' scores
(Frankle et al. 2020): ``max_α [(1 − α) s(θa) + α s(θb) − s((1 − α) θa + α θb)]``, zero when the path never dips.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .scoring import one, score_nested

#: The α grid of the paper's connectivity figures (end points included).
ALPHAS = tuple(float(a) for a in jnp.linspace(0.0, 1.0, 11))


def interpolate(theta_a, theta_b, alphas):
    """The networks (1 − α) θa + α θb for every α: a tree with a leading α axis."""
    alphas = jnp.asarray(alphas)
    return jax.tree_util.tree_map(
        lambda a, b: (1.0 - alphas).reshape((-1,) + (1,) * a.ndim) * a + alphas.reshape((-1,) + (1,) * a.ndim) * b,
        theta_a, theta_b)


def barrier(scores, alphas):
    """Largest drop of ``scores`` below the straight line between the end points' scores (≥ 0)."""
    scores, alphas = jnp.asarray(scores), jnp.asarray(alphas)
    line = (1.0 - alphas) * scores[..., :1] + alphas * scores[..., -1:]
    return jnp.maximum(jnp.max(line - scores, axis=-1), 0.0)


def linear_path(task, theta_a, theta_b, alphas=ALPHAS, key=None, split: str = "test") -> dict:
    """Scores along the straight line from ``theta_a`` to ``theta_b`` (one call for the whole α grid)."""
    scores, barriers = linear_paths(task, one(theta_a), one(theta_b), alphas, key, split)
    return {"alphas": list(alphas), "scores": [float(s) for s in scores[0]], "barrier": float(barriers[0])}


def linear_paths(task, theta_a, theta_b, alphas=ALPHAS, key=None, split: str = "test"):
    """Scores (pairs, α) and barriers (pairs,) of many pairs at once: ``theta_a``/``theta_b`` carry a leading pair
    axis, and every network on every line is scored in one call."""
    lines = jax.vmap(lambda a, b: interpolate(a, b, alphas))(theta_a, theta_b)          # (pairs, α, ...)
    scores = score_nested(task, lines, key, split)
    return scores, barrier(scores, jnp.asarray(alphas))
