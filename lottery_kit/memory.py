"""Will an ES round fit the device's memory? An estimate from shapes alone, before anything is compiled.

A generation holds, per seed (seeds are vmapped, so they add up): the population of search vectors and its noise
(``popsize x k``, a few copies), the population expanded to full parameter trees (``popsize x n``), and the network's
activations for every member and input row (images of a batch, or rollouts). Rollouts and the vision forward pass
run in member chunks (``population_chunk="auto"``), so activations can shrink to one member's; the population itself
cannot. The activation size per row comes from ``jax.eval_shape`` of the network with its intermediates captured.
"""

from __future__ import annotations

import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .population import device_memory_bytes
from .validate import ConfigError

#: float32 copies of the (popsize, k) population an ES generation holds at once (noise, candidates, shaped copies).
POPULATION_COPIES = 4
#: Share of the device's memory a run may plan for (the rest: data, compiled code, the allocator's slack).
USABLE_SHARE = 0.8


def available_bytes() -> int:
    """The device's memory: the accelerator allocator's limit, or the machine's physical memory on CPU."""
    return device_memory_bytes() or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def activation_bytes_per_row(task) -> int:
    """Bytes of one network's activations for one input row (float32), from shapes only."""
    params = jax.eval_shape(task.init_params, jax.random.key(0))
    x = jax.ShapeDtypeStruct((1,) + tuple(task.input_shape), jnp.float32)
    _, state = jax.eval_shape(lambda p, x: task.network.apply(p, x, capture_intermediates=True), params, x)
    return int(sum(np.prod(a.shape) * a.dtype.itemsize for a in jax.tree_util.tree_leaves(state)))


def es_generation_bytes(task, popsize: int, n_seeds: int) -> tuple[int, int]:
    """(bytes unchunked, bytes with one member's activations at a time) of one generation of the dense round."""
    params = jax.eval_shape(task.init_params, jax.random.key(0))
    n = int(sum(np.prod(a.shape) for a in jax.tree_util.tree_leaves(params)))
    population = n_seeds * popsize * n * 4 * (POPULATION_COPIES + 1)
    activations = activation_bytes_per_row(task) * task.rows_per_member
    return population + n_seeds * popsize * activations, population + activations


def _gb(b: float) -> str:
    return f"{b / 2**30:.1f} GB"


def check_es_fits(task, popsize: int, n_seeds: int, memory: int | None = None) -> None:
    """Refuse a population that cannot fit even chunked (naming the estimate, the memory and what to lower); warn
    where it fits only in member chunks (which ``population_chunk="auto"`` does by itself)."""
    memory = available_bytes() if memory is None else memory
    whole, chunked = es_generation_bytes(task, popsize, n_seeds)
    usable = USABLE_SHARE * memory
    if chunked > usable:
        largest = max(0, int(popsize * usable / chunked))
        raise ConfigError(f"popsize={popsize} with {n_seeds} seed(s) does not fit: one generation of {task.name} needs "
                          f"about {_gb(chunked)} even with member chunks, and the device has {_gb(memory)} "
                          f"({USABLE_SHARE:.0%} usable); lower popsize (to about {largest} at most) or run fewer seeds "
                          "at once")
    if whole > usable:
        warnings.warn(f"popsize={popsize} with {n_seeds} seed(s) fits only in member chunks: all members at once "
                      f"would need about {_gb(whole)} of the device's {_gb(memory)}. population_chunk='auto' (the "
                      "default) chunks control rollouts, and the vision forward pass on accelerators; the CPU vision "
                      "kernel runs all members at once, so there lower popsize or batch_size", stacklevel=2)


__all__ = ["available_bytes", "check_es_fits", "es_generation_bytes"]
