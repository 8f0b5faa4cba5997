"""Flatness: how a network's score falls when its kept weights are perturbed by Gaussian noise of growing size.

For each radius r, ``n_samples`` networks θ + r·ε ⊙ m (ε standard normal, m the mask: pruned weights stay zero and
biases, never pruned, are perturbed too) are scored in one call. A flat optimum keeps its score to larger radii.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .scoring import one, score_nested

RADII = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)


def perturb(theta, mask, key, radii, n_samples: int):
    """A tree with a leading (radius × sample) axis of perturbed copies of ``theta``."""
    radii = jnp.repeat(jnp.asarray(radii), n_samples)
    leaves, treedef = jax.tree_util.tree_flatten(theta)
    keys = jax.random.split(key, len(leaves))
    out = [leaf[None] + radii.reshape((-1,) + (1,) * leaf.ndim) * jax.random.normal(k, (radii.size,) + leaf.shape)
           * m[None] for leaf, m, k in zip(leaves, jax.tree_util.tree_leaves(mask), keys)]
    return jax.tree_util.tree_unflatten(treedef, out)


def perturbed_scores(task, thetas, masks_, key, radii=RADII, n_samples: int = 8, split: str = "test"):
    """Scores (networks, radii, samples) of perturbed copies of many networks (leading axis on ``thetas`` and
    ``masks_``), every copy scored in one call."""
    n = jax.tree_util.tree_leaves(thetas)[0].shape[0]
    copies = jax.vmap(lambda t, m, k: perturb(t, m, k, radii, n_samples))(thetas, masks_, jax.random.split(key, n))
    return score_nested(task, copies, key, split).reshape(n, len(radii), n_samples)


def perturbation_curves(task, thetas, masks_, key, radii=RADII, n_samples: int = 8, split: str = "test"):
    """Mean score at each radius for many networks at once: (networks, radii)."""
    return perturbed_scores(task, thetas, masks_, key, radii, n_samples, split).mean(-1)


def perturbation_scores(task, theta, mask, key, radii=RADII, n_samples: int = 8, split: str = "test") -> dict:
    """Mean and standard deviation of one network's score at each radius (and every sample's score)."""
    scores = perturbed_scores(task, one(theta), one(mask), key, radii, n_samples, split)[0]
    return {"radii": list(radii), "mean": [float(s) for s in scores.mean(1)], "std": [float(s) for s in scores.std(1)],
            "scores": scores.tolist()}
