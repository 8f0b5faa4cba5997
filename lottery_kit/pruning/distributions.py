"""Sparsity distributions: how the kept kernel weights of a round are spread over the layers.

- ``global`` (the paper's): the n largest scores over all kernels, wherever they sit;
- ``layerwise``: the same fraction of every kernel;
- ``erk`` (Erdős–Rényi-Kernel, as jaxpruner and RigL define it): a kernel's density ∝ (Σ shape / Π shape)^power,
  scaled so that the total matches; a kernel whose density would exceed what it still has stays as it is.

Each takes ``min_per_layer``: every kernel keeps at least that many weights (or all it has left), so that no layer
collapses to zero. Per-layer counts are exact integers: the real-valued targets are capped by what each kernel
still keeps (pruned weights never come back) and floored by the minimum, and the remainder after rounding down goes
to the largest fractional parts (ties to the earlier kernel). The total is always exactly ``n_keep``.
Add one with :func:`register_distribution`: a function of the kernels' shapes (and the power) that returns their
relative densities (``None`` stands for the global top-n).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .. import masks
from ..registry import Registry
from ..validate import ConfigError, number


def _uniform(shapes, power):
    return np.ones(len(shapes))


def _erk(shapes, power):
    return np.array([(sum(s) / np.prod(s)) ** power for s in shapes], float)


#: name -> density(shapes, power) giving each kernel's relative density, or None (global top-n).
DISTRIBUTIONS: Registry = Registry("distribution", {"global": None, "layerwise": _uniform, "erk": _erk})


def register_distribution(name: str, density: Callable, *, replace: bool = False) -> None:
    """Add a distribution: ``density(shapes, power) -> relative density per kernel`` (positive numbers)."""
    DISTRIBUTIONS.register(name, density, replace=replace)


@dataclass(frozen=True)
class Distribution:
    """A distribution by name with its settings, checked: the ``distribution``, ``erk_power`` and
    ``min_per_layer`` parameters of the IMP and one-shot notebooks."""

    name: str = "global"
    power: float = 1.0          # ERK's power scale (jaxpruner's erk_power_scale)
    min_per_layer: int = 0

    def __post_init__(self):
        DISTRIBUTIONS.lookup(self.name)
        number("erk_power", self.power, low=0.0, low_open=True, why="ERK's power scale must be positive")
        number("min_per_layer", self.min_per_layer, integer=True, low=0)

    @property
    def is_global(self) -> bool:
        return DISTRIBUTIONS[self.name] is None

    def config(self) -> dict:
        return {"distribution": self.name, "erk_power": self.power, "min_per_layer": self.min_per_layer}

    def check_schedule(self, params, n_keep_last: int) -> None:
        """Refuse a per-layer minimum that the schedule's last round cannot meet."""
        sizes = kernel_sizes(params)
        need = sum(min(self.min_per_layer, n) for n in sizes)
        if need > n_keep_last:
            raise ConfigError(f"min_per_layer={self.min_per_layer} needs {need} kept weights over the "
                              f"{len(sizes)} kernels, but the last round keeps only {n_keep_last}: "
                              "lower min_per_layer, or use fewer rounds or a larger keep_ratio")

    def layer_counts(self, shapes, kept_now, n_keep: int) -> tuple[int, ...] | None:
        """Exact kept count per kernel for the next round (None for a global distribution without a minimum):
        ``shapes`` of the kernels, ``kept_now`` the weights each may still keep."""
        if self.is_global:
            return None
        density = np.asarray(DISTRIBUTIONS[self.name](shapes, self.power), float)
        if density.shape != (len(shapes),) or not np.all(density > 0):
            raise ConfigError(f"distribution {self.name!r} gave densities {density}; it must give one positive "
                              "number per kernel")
        sizes = np.array([np.prod(s) for s in shapes], float)
        return apportion(density * sizes, np.asarray(kept_now), n_keep, self.min_per_layer)


def kernel_sizes(params) -> list[int]:
    return [int(np.prod(a.shape)) for a, p in zip(jax.tree_util.tree_leaves(params),
                                                  jax.tree_util.tree_leaves(masks.prunable_tree(params))) if p]


def kernel_shapes(params) -> list[tuple]:
    return [tuple(a.shape) for a, p in zip(jax.tree_util.tree_leaves(params),
                                           jax.tree_util.tree_leaves(masks.prunable_tree(params))) if p]


def apportion(weights, caps, total: int, minimum: int = 0) -> tuple[int, ...]:
    """Integers ``k`` with Σk = ``total``, ``min(minimum, cap) <= k <= cap`` and k as near ``ε·weights`` as the
    bounds allow (ε is found by bisection; the remainder after rounding down goes to the largest fractional parts,
    ties to the earlier entry)."""
    caps = np.asarray(caps, np.int64)
    lo = np.minimum(minimum, caps)
    if not lo.sum() <= total <= caps.sum():
        raise ConfigError(f"cannot keep {total} weights with at least {minimum} and at most {caps.tolist()} per layer")

    def filled(eps):
        return np.clip(eps * weights, lo, caps)

    a, b = 0.0, 1.0
    while filled(b).sum() < total:
        b *= 2.0
    for _ in range(200):
        m = 0.5 * (a + b)
        a, b = (m, b) if filled(m).sum() < total else (a, m)
    x = filled(b)
    k = np.minimum(np.floor(x + 1e-9).astype(np.int64), caps)
    k = np.maximum(k, lo)
    while k.sum() > total:                       # bisection overshot by rounding: take from the smallest parts
        room = np.flatnonzero(k > lo)
        k[room[np.argmin((x - k)[room])]] -= 1
    order = sorted(np.flatnonzero(k < caps), key=lambda i: (-(x[i] - k[i]), i))
    for i in order[: total - int(k.sum())]:
        k[i] += 1
    assert k.sum() == total and np.all(k <= caps) and np.all(k >= lo)
    return tuple(int(v) for v in k)


def _leaf_top(s, m, k):
    """The ``k`` (may be traced) largest scores among the unmasked entries of one leaf, ties by position."""
    return masks.top_entries(s.ravel(), m.ravel(), k).reshape(m.shape)


def select(scores, mask, n_keep: int, counts=None, min_per_layer: int = 0):
    """The next mask: exactly ``n_keep`` kernel weights among those still in ``mask`` (pruned ones never return).

    ``counts`` (one per kernel, from :meth:`Distribution.layer_counts`): keep that many per kernel. Without them the
    selection is global, after reserving each kernel's ``min_per_layer`` best (or all it has left).
    """
    if counts is None and not min_per_layer:
        return masks.global_topk_mask(scores, mask, n_keep)
    leaves, treedef = jax.tree_util.tree_flatten(scores)
    prunable = jax.tree_util.tree_leaves(masks.prunable_tree(scores))
    mask_leaves = jax.tree_util.tree_leaves(mask)
    if counts is not None:
        it = iter(counts)
        out = [_leaf_top(s, m, next(it)) if p else jnp.ones(m.shape, bool)
               for s, m, p in zip(leaves, mask_leaves, prunable)]
        return jax.tree_util.tree_unflatten(treedef, out)
    # global with a minimum per kernel: the reserved weights rank above every other, then one global top-n
    boosted = [jnp.where(_leaf_top(s, m, jnp.minimum(min_per_layer, m.sum())), jnp.inf, s) if p else s
               for s, m, p in zip(leaves, mask_leaves, prunable)]
    return masks.global_topk_mask(jax.tree_util.tree_unflatten(treedef, boosted), mask, n_keep)
