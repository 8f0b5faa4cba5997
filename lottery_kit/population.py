"""Evaluate a whole ES population at once (the performance kernel).

``apply_shared(module, pop_params, x)`` runs every member on the same input batch (vision);
``apply_per_member(module, pop_params, xs)`` runs member i on ``xs[i]`` (control rollouts).
Both return outputs with a leading population axis and agree with ``module.apply`` member by member.

For the vision CNN, ``jax.vmap`` over weights lowers to grouped convolutions, which XLA's CPU backend
runs at a few GFLOP/s. The CPU path instead computes layer 1 for a chunk of members as one ordinary
convolution with ``chunk * 8`` output channels (its input is shared), then maps members sequentially
through layer 2 and the dense head. Pooling and the bias/ReLU are reordered (max-pool commutes with a
per-channel bias and with ReLU) so the elementwise work runs on the pooled, 4x smaller tensors.
On GPUs grouped convolutions are fast, so ``backend="vmap"`` is the default there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .networks import VisionCNN

_DIMS = ("NHWC", "HWIO", "NHWC")


def _conv(x, kernel):
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMS)


def _pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _cnn_head(h1, p):
    """Layers 2..end of the vision CNN for one member, from its pooled layer-1 activations."""
    h = _pool(_conv(h1, p["Conv_1"]["kernel"]))
    h = jax.nn.relu(h + p["Conv_1"]["bias"])
    h = h.reshape(h.shape[0], -1)
    return jax.nn.log_softmax(h @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"])


def _cnn_chunk(x, p):
    """A chunk of members (leading axis C) on a shared batch x: layer 1 as one convolution."""
    k1 = p["Conv_0"]["kernel"]                       # (C, 5, 5, 1, 8)
    c, kh, kw, cin, cout = k1.shape
    k1 = jnp.moveaxis(k1, 0, -2).reshape(kh, kw, cin, c * cout)
    h = _pool(_conv(x, k1))                          # (B, 14, 14, C*8)
    h = h.reshape(h.shape[:3] + (c, cout))
    h = jax.nn.relu(h + p["Conv_0"]["bias"])         # bias (C, 8) broadcasts over (B, 14, 14)
    h = jnp.moveaxis(h, 3, 0)                        # (C, B, 14, 14, 8)
    return lax.map(lambda args: _cnn_head(*args), (h, p))


@jax.custom_batching.custom_vmap
def cnn_population_logprobs(pop_params, x):
    """Log-probabilities (pop, batch, classes) of the paper's CNN for every member on batch ``x``.

    Vmapping this (over seeds) must not turn the per-member convolutions back into grouped ones, so it
    carries its own batching rule: seeds that share the batch merge into the population axis; seeds
    with their own batches run one after another, each through the fast path.
    """
    return _cnn_population_logprobs(pop_params, x)


@cnn_population_logprobs.def_vmap
def _cnn_population_vmap(axis_size, in_batched, pop_params, x):
    params_batched, x_batched = in_batched
    pop_params = jax.tree_util.tree_map(
        lambda a, b: a if b else jnp.broadcast_to(a, (axis_size,) + a.shape), pop_params, params_batched)
    if not x_batched:
        merged = jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), pop_params)
        out = cnn_population_logprobs(merged, x)
        return out.reshape((axis_size, -1) + out.shape[1:]), True
    return lax.map(lambda args: cnn_population_logprobs(*args), (pop_params, x)), True


def _cnn_population_logprobs(pop_params, x, chunk: int = 16):
    p = pop_params["params"]
    pop = jax.tree_util.tree_leaves(p)[0].shape[0]
    chunk = max(1, min(chunk, pop))
    pad = (-pop) % chunk
    p = jax.tree_util.tree_map(lambda a: jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)), p)
    p = jax.tree_util.tree_map(lambda a: a.reshape((-1, chunk) + a.shape[1:]), p)
    out = lax.map(lambda pc: _cnn_chunk(x, pc), p)   # (pop/chunk, chunk, B, classes)
    return out.reshape((-1,) + out.shape[2:])[:pop]


def default_backend() -> str:
    return "fast" if jax.default_backend() == "cpu" else "vmap"


def apply_shared(module, pop_params, x, backend: str | None = None):
    """Every member on the same inputs ``x``; output (pop, *module output)."""
    backend = backend or default_backend()
    if backend == "fast" and isinstance(module, VisionCNN) and tuple(module.features) == (8, 16):
        return cnn_population_logprobs(pop_params, x)
    return jax.vmap(module.apply, in_axes=(0, None))(pop_params, x)


def apply_per_member(module, pop_params, xs):
    """Member i on ``xs[i]``; for dense networks this is a batched matmul per layer.

    Vmapped over seeds, the seed axis is merged into the population axis (one batch dimension instead
    of two), which XLA runs faster than nested batching.
    """
    return _per_member(module)(pop_params, xs)


def _per_member(module):
    @jax.custom_batching.custom_vmap
    def run(pop_params, xs):
        return jax.vmap(module.apply)(pop_params, xs)

    @run.def_vmap
    def run_vmap(axis_size, in_batched, pop_params, xs):
        params_batched, xs_batched = in_batched
        pop_params = jax.tree_util.tree_map(
            lambda a, b: a if b else jnp.broadcast_to(a, (axis_size,) + a.shape), pop_params, params_batched)
        xs = xs if xs_batched else jnp.broadcast_to(xs, (axis_size,) + xs.shape)
        merge = lambda a: a.reshape((-1,) + a.shape[2:])  # noqa: E731
        out = run(jax.tree_util.tree_map(merge, pop_params), merge(xs))
        return out.reshape((axis_size, -1) + out.shape[1:]), True

    return run
