"""Pruning baselines: pure functions turning one round's outcome into the next (init, mask).

Every rule has the signature ``rule(key, outcome, n_keep, task, signal="final") -> (next_init, next_mask)``
for ONE seed (the IMP driver vmaps it over seeds). ``outcome`` is a :class:`RoundOutcome`;
``n_keep`` is the exact number of kernel weights the next round keeps (biases are never pruned).
``signal`` picks which ES mean ranks the weights: "final" (the paper's default) or "best".

| name | mask | weights |
|---|---|---|
| final-ticket | global magnitude of the mean | rewound θ0 |
| sig2noise | global |μ|/σ of the search distribution | rewound θ0 |
| random-reinit | uniform random, same global count, redrawn each round | fresh init |
| mask-reinit | magnitude | fresh init |
| final-ticket_permute | magnitude | θ0 survivors permuted within each layer |
| final_permute-ticket_permute | magnitude, permuted within each layer | θ0 survivors permuted within each layer |
| snip | |g ⊙ θ0| at the dense θ0, one-shot | θ0 |
| grasp | keep the smallest −θ0 ⊙ Hg at the dense θ0, one-shot (GraSP's direction) | θ0 |
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from . import masks
from .validate import ConfigError, choice


@struct.dataclass
class RoundOutcome:
    """What a trainer returns for one seed and round (all parameter-shaped pytrees)."""

    init: dict          # the weights this round trained from (masked)
    mask: dict
    final_mean: dict
    final_std: dict | None  # per-weight std of the search distribution (None for gradient-descent trainers)
    best_mean: dict
    dense_init: dict    # round 1's dense θ0 (used by the one-shot rules)

    def mean(self, signal: str):
        return self.best_mean if signal == "best" else self.final_mean


def _abs(tree):
    return jax.tree_util.tree_map(jnp.abs, tree)


def magnitude_mask(outcome, n_keep, signal="final"):
    return masks.global_topk_mask(_abs(outcome.mean(signal)), outcome.mask, n_keep)


def snr_scores(mean, std):
    """Signal-to-noise ratio |μ|/σ per weight (σ floored at the smallest positive float)."""
    return jax.tree_util.tree_map(lambda m, s: jnp.abs(m) / jnp.maximum(s, jnp.finfo(s.dtype).tiny), mean, std)


def _permute_within_layers(key, values, src_mask, dst_mask):
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


def final_ticket(key, outcome, n_keep, task, signal="final"):
    mask = magnitude_mask(outcome, n_keep, signal)
    return masks.apply(outcome.init, mask), mask


def sig2noise(key, outcome, n_keep, task, signal="final"):
    if outcome.final_std is None:
        raise ConfigError("baseline 'sig2noise' needs the per-weight std of an evolution strategy's search "
                          "distribution; the trainer of this round (a gradient-descent optimiser) has none")
    mask = masks.global_topk_mask(snr_scores(outcome.mean(signal), outcome.final_std), outcome.mask, n_keep)
    return masks.apply(outcome.init, mask), mask


def random_reinit(key, outcome, n_keep, task, signal="final"):
    k_mask, k_init = jax.random.split(key)
    mask = masks.random_mask(k_mask, outcome.mask, n_keep)
    return masks.apply(task.init_params(k_init), mask), mask


def mask_reinit(key, outcome, n_keep, task, signal="final"):
    mask = magnitude_mask(outcome, n_keep, signal)
    return masks.apply(task.init_params(key), mask), mask


def final_ticket_permute(key, outcome, n_keep, task, signal="final"):
    mask = magnitude_mask(outcome, n_keep, signal)
    return _permute_within_layers(key, outcome.init, mask, mask), mask


def final_permute_ticket_permute(key, outcome, n_keep, task, signal="final"):
    k_mask, k_vals = jax.random.split(key)
    ticket = magnitude_mask(outcome, n_keep, signal)
    mask = _permute_mask_within_layers(k_mask, ticket)
    return _permute_within_layers(k_vals, outcome.init, ticket, mask), mask


def _require_loss(task, rule):
    if task.loss is None:
        raise ConfigError(f"baseline {rule!r} needs a differentiable training loss; task {task.name!r} "
                          f"({task.family}) has none. Use it on a vision task (mnist, fmnist, kmnist, digits).")


def snip(key, outcome, n_keep, task, signal="final"):
    _require_loss(task, "snip")
    theta0 = outcome.dense_init
    grads = jax.grad(task.loss)(theta0, key, task.data)
    scores = jax.tree_util.tree_map(lambda g, w: jnp.abs(g * w), grads, theta0)
    mask = masks.global_topk_mask(scores, masks.dense_mask(theta0), n_keep)
    return masks.apply(theta0, mask), mask


def grasp(key, outcome, n_keep, task, signal="final"):
    """GraSP: S = -θ0 ⊙ Hg; keep the n_keep weights with the SMALLEST S (the original code kept the largest)."""
    _require_loss(task, "grasp")
    theta0 = outcome.dense_init
    grad_fn = jax.grad(lambda p: task.loss(p, key, task.data))
    g = jax.lax.stop_gradient(grad_fn(theta0))
    _, hg = jax.jvp(grad_fn, (theta0,), (g,))
    keep_score = jax.tree_util.tree_map(lambda w, h: w * h, theta0, hg)   # = -S
    mask = masks.global_topk_mask(keep_score, masks.dense_mask(theta0), n_keep)
    return masks.apply(theta0, mask), mask


PRUNERS: dict[str, Callable] = {
    "final-ticket": final_ticket,
    "sig2noise": sig2noise,
    "random-reinit": random_reinit,
    "mask-reinit": mask_reinit,
    "final-ticket_permute": final_ticket_permute,
    "final_permute-ticket_permute": final_permute_ticket_permute,
    "snip": snip,
    "grasp": grasp,
}


def get_pruner(name: str) -> Callable:
    return PRUNERS[choice("baseline", name, PRUNERS)]
