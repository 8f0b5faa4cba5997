"""What a mask still wires: kept weights per kernel, and which units lie on a path from input to output.

A *unit* is a neuron of a dense layer or a channel of a convolution. Kernel k of shape ``(..., n_in, n_out)``
joins input unit i to output unit j when any of its kept entries ``[..., i, j]`` does (a convolution's spatial
taps, or a flattened feature map's positions, collapse onto channels). The kernels are taken in the order of the
parameter tree, which is the forward order of the kit's networks; a dense layer after a flattened feature map of C
channels reads ``n_in = positions × C`` features, channel last.

Per mask (one network), :func:`wiring` gives:

- ``kept_weights_kernel{k}``: kept entries of kernel k;
- ``inputs_wired``: input units with a path of kept weights to at least one output unit;
- ``outputs_wired``: output units reached from at least one input unit;
- ``hidden_on_path``: hidden units (all layers) on a complete input→output path.

A network whose kernels do not chain (e.g. an actor and a critic in one tree) gets the counts per kernel and NaN
for the path columns.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from . import masks

PATH_COLUMNS = ("inputs_wired", "outputs_wired", "hidden_on_path")


def kernel_masks(mask) -> list[np.ndarray]:
    """The prunable (kernel) leaves of one network's mask, in tree order, as numpy arrays."""
    prunable = jax.tree_util.tree_leaves(masks.prunable_tree(mask))
    return [np.asarray(m) for m, p in zip(jax.tree_util.tree_leaves(mask), prunable) if p]


def unit_adjacency(kernels: list[np.ndarray]) -> list[np.ndarray] | None:
    """Boolean (n_in, n_out) unit adjacency of each kernel, chained so that each kernel's inputs are the previous
    kernel's outputs; None when the kernels do not chain."""
    out = []
    for k, kernel in enumerate(kernels):
        n_in, n_out = kernel.shape[-2], kernel.shape[-1]
        a = kernel.reshape(-1, n_in, n_out).any(axis=0)
        if k:
            prev = out[-1].shape[1]
            if n_in % prev:
                return None
            a = a.reshape(-1, prev, n_out).any(axis=0)   # flattened positions × channels -> channels
        out.append(a)
    return out


def wiring(mask) -> dict[str, float]:
    """The wiring columns of one network's mask (module docstring)."""
    kernels = kernel_masks(mask)
    row = {f"kept_weights_kernel{k}": float(m.sum()) for k, m in enumerate(kernels)}
    adjacency = unit_adjacency(kernels)
    if adjacency is None:
        return row | dict.fromkeys(PATH_COLUMNS, np.nan)
    forward = [np.ones(adjacency[0].shape[0], bool)]
    for a in adjacency:
        forward.append((forward[-1].astype(int) @ a.astype(int)) > 0)
    backward = [np.ones(adjacency[-1].shape[1], bool)]
    for a in reversed(adjacency):
        backward.insert(0, (a.astype(int) @ backward[0].astype(int)) > 0)
    on_path = [f & b for f, b in zip(forward, backward)]
    return row | {"inputs_wired": float(on_path[0].sum()), "outputs_wired": float(on_path[-1].sum()),
                  "hidden_on_path": float(sum(p.sum() for p in on_path[1:-1]))}


def wiring_columns(stacked_mask, n_seeds: int) -> dict[str, np.ndarray]:
    """:func:`wiring` of every seed of a seed-stacked mask, as one array per column."""
    rows = [wiring(jax.tree_util.tree_map(lambda a: np.asarray(a)[i], stacked_mask)) for i in range(n_seeds)]
    return {c: np.array([r[c] for r in rows], float) for c in rows[0]}


def stored_wiring(run_dir) -> pd.DataFrame:
    """:func:`wiring` of every stored mask of a run directory: one row per (seed, round) whose round artifacts kept
    the mask (a slimmed run may keep masks only)."""
    from .store import RunStore, read_config

    store = RunStore(run_dir)
    seeds = read_config(store.root)["config"]["seeds"]
    rows = []
    for round_ in store.done_rounds():
        for seed in seeds:
            mask = store.load_round(seed, round_).get("mask")
            if mask is not None:
                rows.append({"seed": seed, "round": round_, **wiring(mask)})
    return pd.DataFrame(rows)


__all__ = ["PATH_COLUMNS", "kernel_masks", "stored_wiring", "unit_adjacency", "wiring", "wiring_columns"]
