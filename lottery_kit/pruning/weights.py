"""Weights policies: which values the kept weights of the next round start from.

A policy maps ``(key, outcome, mask, task)`` to ``(init, mask)`` for one seed, pruned entries exactly zero:

| policy | next round starts from |
|---|---|
| rewind | the rewind point (θ0, or round 1's weights after ``rewind_step`` steps) |
| reinit | a fresh initialisation |
| permute | the survivors of the weights this round started from, shuffled within each kernel |
| shuffle | the same, with the mask's positions shuffled within each kernel as well (the mask changes) |

(The IMP driver hands round 1's outcome to the policy with the rewind point as the weights it started from, so
under late rewinding ``permute`` shuffles θ_k's survivors, and later rounds shuffle again what they started from.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .. import masks
from ..registry import Registry


@dataclass(frozen=True)
class WeightsPolicy:
    fn: Callable          # (key, outcome, mask, task) -> (init, mask)
    random: bool = False  # uses its key
    doc: str = ""


def permute_within_layers(key, values, src_mask, dst_mask):
    """Place the values at ``src_mask`` positions onto ``dst_mask`` positions in random order, per leaf.

    Both masks must keep the same count in each leaf; shapes stay static so this vmaps over seeds.
    """
    leaves, treedef = jax.tree_util.tree_flatten(values)
    prunable = jax.tree_util.tree_leaves(masks.prunable_tree(values))
    keys = jax.random.split(key, len(leaves))
    out = []
    for k, leaf, src, dst, p in zip(keys, leaves, jax.tree_util.tree_leaves(src_mask),
                                    jax.tree_util.tree_leaves(dst_mask), prunable):
        if not p:  # biases are never pruned or permuted
            out.append(leaf)
            continue
        v, src, dst = leaf.ravel(), src.ravel(), dst.ravel()
        src_pos = jnp.argsort(~src, stable=True)                                      # kept first, in order
        dst_pos = jnp.argsort(jnp.where(dst, jax.random.uniform(k, dst.shape), 2.0))  # kept first, shuffled
        placed = jnp.zeros_like(v).at[dst_pos].set(v[src_pos])
        out.append(jnp.where(dst, placed, 0).reshape(leaf.shape))
    return jax.tree_util.tree_unflatten(treedef, out)


def _permute_mask_within_layers(key, mask):
    """Shuffle the positions of each prunable leaf's kept entries (per-layer counts unchanged)."""
    prunable = jax.tree_util.tree_leaves(masks.prunable_tree(mask))
    leaves, treedef = jax.tree_util.tree_flatten(mask)
    keys = jax.random.split(key, len(leaves))
    out = [jax.random.permutation(k, m.ravel()).reshape(m.shape) if p else m
           for k, m, p in zip(keys, leaves, prunable)]
    return jax.tree_util.tree_unflatten(treedef, out)


def rewind(key, outcome, mask, task):
    return masks.apply(outcome.rewind_point, mask), mask


def reinit(key, outcome, mask, task):
    return masks.apply(task.init_params(key), mask), mask


def permute(key, outcome, mask, task):
    return permute_within_layers(key, outcome.init, mask, mask), mask


def shuffle(key, outcome, mask, task):
    k_mask, k_vals = jax.random.split(key)
    moved = _permute_mask_within_layers(k_mask, mask)
    return permute_within_layers(k_vals, outcome.init, mask, moved), moved


WEIGHTS: Registry = Registry("weights policy", {
    "rewind": WeightsPolicy(rewind, doc="rewound to the rewind point"),
    "reinit": WeightsPolicy(reinit, random=True, doc="fresh initialisation"),
    "permute": WeightsPolicy(permute, random=True, doc="the round's starting survivors permuted within each kernel"),
    "shuffle": WeightsPolicy(shuffle, random=True, doc="mask and survivors permuted within each kernel"),
})


def register_weights(name: str, fn: Callable, random: bool = False, doc: str = "", *,
                     replace: bool = False) -> WeightsPolicy:
    """Add a weights policy ``fn(key, outcome, mask, task) -> (init, mask)``."""
    return WEIGHTS.register(name, WeightsPolicy(fn, random, doc), replace=replace)


def get_weights(name: str) -> WeightsPolicy:
    return WEIGHTS.lookup(name)
