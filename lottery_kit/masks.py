"""Mask arithmetic on parameter pytrees: which leaves are prunable, exact global top-k, apply.

A mask is a pytree of booleans shaped like the parameters. Kernels are prunable; biases are never
pruned (their mask is always True) but are trained.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import flatten_util


def is_prunable_path(path) -> bool:
    return getattr(path[-1], "key", None) == "kernel"


def prunable_tree(params):
    """A pytree of Python bools: True for kernels."""
    return jax.tree_util.tree_map_with_path(lambda p, _: is_prunable_path(p), params)


def dense_mask(params):
    return jax.tree_util.tree_map(lambda a: jnp.ones(a.shape, bool), params)


def num_prunable(params) -> int:
    return sum(int(np.prod(a.shape)) for a, pr in zip(jax.tree_util.tree_leaves(params),
                                                     jax.tree_util.tree_leaves(prunable_tree(params))) if pr)


def kept_count(mask) -> jnp.ndarray:
    """Number of unpruned kernel weights."""
    pr = jax.tree_util.tree_leaves(prunable_tree(mask))
    return sum(jnp.sum(m) for m, p in zip(jax.tree_util.tree_leaves(mask), pr) if p)


def target_kept(n_prunable: int, keep_ratio: float, round_: int) -> int:
    """Kernel weights kept in IMP round ``round_`` (1 = dense): round(N * keep_ratio**(round_-1))."""
    return int(round(n_prunable * keep_ratio ** (round_ - 1)))


def apply(params, mask):
    return jax.tree_util.tree_map(lambda a, m: jnp.where(m, a, jnp.zeros_like(a)), params, mask)


def flat_prunable(tree):
    """Concatenate the prunable leaves into one vector (and return a function mapping back)."""
    pr = prunable_tree(tree)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    pr_leaves = jax.tree_util.tree_leaves(pr)
    sel = [leaf for leaf, p in zip(leaves, pr_leaves) if p]
    flat = jnp.concatenate([jnp.ravel(a) for a in sel])
    sizes = [a.size for a in sel]

    def unflat(vec, fill_tree):
        """Write ``vec`` back into the prunable leaves of ``fill_tree``."""
        out, off, j = [], 0, 0
        for leaf, p in zip(jax.tree_util.tree_leaves(fill_tree), pr_leaves):
            if p:
                out.append(vec[off : off + sizes[j]].reshape(leaf.shape).astype(leaf.dtype))
                off += sizes[j]
                j += 1
            else:
                out.append(leaf)
        return jax.tree_util.tree_unflatten(treedef, out)

    return flat, unflat


@jax.jit
def top_entries(scores, kept, n_keep):
    """Of the ``kept`` entries of a flat ``scores`` vector, the ``n_keep`` largest (ties by position, NaN lowest).

    ``n_keep`` is traced, so a run's rounds share one compiled program whatever their counts."""
    s = jnp.where(kept, scores.astype(jnp.float32), -jnp.inf)
    s = jnp.where(jnp.isnan(s), -jnp.finfo(jnp.float32).max, s)
    ranks = jnp.zeros(s.shape, jnp.int32).at[jnp.argsort(-s, stable=True)].set(jnp.arange(s.size, dtype=jnp.int32))
    return (ranks < n_keep) & kept


def global_topk_mask(scores, mask, n_keep: int):
    """Keep exactly ``n_keep`` prunable entries with the largest score among those still unmasked.

    Already-pruned entries can never come back; ties are broken by position, so the count is exact.
    """
    flat_scores, unflat = flat_prunable(scores)
    flat_mask, _ = flat_prunable(mask)
    return unflat(top_entries(flat_scores, flat_mask, n_keep), dense_mask(mask))


def random_mask(key, params, n_keep: int):
    """Exactly ``n_keep`` prunable entries chosen uniformly at random (over all kernels)."""
    flat, unflat = flat_prunable(params)
    keep = jnp.zeros(flat.shape, bool).at[jax.random.permutation(key, flat.size)[:n_keep]].set(True)
    return unflat(keep, dense_mask(params))


def ravel(params):
    """Flatten a parameter tree once: (vector, unravel)."""
    return flatten_util.ravel_pytree(params)
