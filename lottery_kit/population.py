"""Evaluate a whole ES population at once (the performance kernel).

``apply_shared(module, pop_params, x)`` runs every member on the same input batch (vision) and agrees
with ``module.apply`` member by member; ``map_population(fn)`` runs a per-member function, such as a
whole rollout (control), over the population in chunks.

For the vision CNN, ``jax.vmap`` over weights lowers to grouped convolutions, which XLA's CPU backend
runs at a few GFLOP/s. The CPU path instead computes layer 1 for a chunk of members as one ordinary
convolution with ``chunk * 8`` output channels (its input is shared), then maps members sequentially
through layer 2 and the dense head. Pooling and the bias/ReLU are reordered (max-pool commutes with a
per-channel bias and with ReLU) so the elementwise work runs on the pooled, 4x smaller tensors.
On GPUs grouped convolutions are fast, so ``backend="vmap"`` is the default there.

Rollouts (control tasks) run the whole episode for a chunk of members at a time
(:func:`map_population`): on CPU a chunk whose weights stay in the core's cache is faster than one
pass over a population whose weights are re-read from memory at every step (:func:`auto_chunk`).

Vmapping any of these over seeds merges the seed axis into the population axis (custom batching
rules), so a vmapped run is one larger population rather than nested batches. The members (of every seed) are then
spread over the run's devices in whole chunks (:func:`chunks_over_devices`, :mod:`lottery_kit.sharding`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .networks import VisionCNN
from .sharding import over_devices, pad_repeating_last
from .validate import ConfigError, choice

_DIMS = ("NHWC", "HWIO", "NHWC")


# ---------------------------------------------------------------- seeds merge into the population
def _broadcast_unbatched(axis_size, tree, batched):
    """Give every leaf of ``tree`` that a vmap left unbatched the vmapped axis in front."""
    return jax.tree_util.tree_map(lambda a, b: a if b else jnp.broadcast_to(a, (axis_size,) + a.shape),
                                  tree, batched)


def _merge_leading(tree):
    """(seeds, pop, ...) -> (seeds * pop, ...) for every leaf."""
    return jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), tree)


def _split_leading(axis_size, tree):
    """(seeds * pop, ...) -> (seeds, pop, ...) for every leaf."""
    return jax.tree_util.tree_map(lambda a: a.reshape((axis_size, -1) + a.shape[1:]), tree)


def merging_seed_axis(fn):
    """``fn(*per_member_args)`` (every input and output with a leading population axis), vmapped by merging.

    Vmapping the result over seeds runs ``fn`` once on the seeds' populations laid end to end instead of
    adding a second batch dimension; inputs the vmap leaves unbatched are shared by all seeds.
    """
    @jax.custom_batching.custom_vmap
    def run(*args):
        return fn(*args)

    @run.def_vmap
    def run_vmap(axis_size, in_batched, *args):
        args = [_broadcast_unbatched(axis_size, a, b) for a, b in zip(args, in_batched)]
        out = run(*_merge_leading(args))
        return _split_leading(axis_size, out), jax.tree_util.tree_map(lambda _: True, out)

    return run


def _in_chunks(fn, size: int, tree):
    """``fn`` over consecutive chunks of ``size`` members (leading axis of every leaf), one after another.

    The last chunk is padded by repeating the last member; the padding's outputs are dropped.
    """
    pop = jax.tree_util.tree_leaves(tree)[0].shape[0]
    size = max(1, min(size, pop))
    chunks = jax.tree_util.tree_map(lambda a: a.reshape((-1, size) + a.shape[1:]),
                                    pad_repeating_last(tree, (-pop) % size))
    out = lax.map(fn, chunks)
    return jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:])[:pop], out)


def chunks_over_devices(fn, size: int, tree, shared=(), split_pass: bool = True):
    """``fn(chunk, *shared)`` over consecutive chunks of ``size`` members of ``tree`` (one pass where ``size``
    covers them all), the members spread over the run's devices (:func:`lottery_kit.sharding.over_devices`) in
    whole chunks, so that every chunk holds the members it holds on one device. One pass is split between the
    devices where ``split_pass`` (a kernel that computes each member alone, whatever the others), else it runs as
    it is (the CPU's CNN kernel, whose first convolution rounds differently for another number of members)."""
    chunked = size < jax.tree_util.tree_leaves(tree)[0].shape[0]
    if not (chunked or split_pass):
        return fn(tree, *shared)

    def on_device(part, *shared):
        return _in_chunks(lambda chunk: fn(chunk, *shared), size, part) if chunked else fn(part, *shared)

    return over_devices(on_device, tree, shared, unit=size if chunked else 1)


# ---------------------------------------------------------------- populations on a shared input (vision)
def on_shared_input(per_chunk, chunk_size, seeds_in_turn: bool = True, split_pass: bool = True):
    """``per_chunk(chunk_params, x)`` for consecutive chunks of members that all see the input ``x``.

    ``chunk_size(n, x)`` gives the members per chunk when ``n`` members are evaluated at once (at least ``n``: one
    pass). Vmapped over seeds, seeds that share ``x`` merge into the population and are chunked together with it.
    Seeds with their own inputs either run one after another, each chunked (``seeds_in_turn``: the CPU kernel,
    whose plain convolutions must not become grouped ones), or are vmapped inside every chunk of members, the
    chunk sized for all seeds together (accelerators, where one large grouped convolution beats several small).
    ``split_pass``: see :func:`chunks_over_devices`.
    """
    @jax.custom_batching.custom_vmap
    def run(pop_params, x):
        pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
        return chunks_over_devices(per_chunk, chunk_size(pop, x), pop_params, (x,), split_pass)

    @run.def_vmap
    def run_vmap(axis_size, in_batched, pop_params, x):
        params_batched, x_batched = in_batched
        pop_params = _broadcast_unbatched(axis_size, pop_params, params_batched)
        if not x_batched:
            return _split_leading(axis_size, run(_merge_leading(pop_params), x)), True
        if seeds_in_turn:
            return lax.map(lambda args: run(*args), (pop_params, x)), True
        pop = jax.tree_util.tree_leaves(pop_params)[0].shape[1]
        size = max(1, chunk_size(axis_size * pop, x[0]) // axis_size)   # members per chunk and seed
        by_member = jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), pop_params)   # (pop, seeds, ...)
        seeds_chunk = lambda pc, x: jnp.swapaxes(jax.vmap(per_chunk)(  # noqa: E731
            jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), pc), x), 0, 1)
        return jnp.swapaxes(chunks_over_devices(seeds_chunk, size, by_member, (x,)), 0, 1), True

    return run


#: Members whose layer 1 runs as one convolution in the CPU kernel (chunk * 8 output channels).
CNN_CHUNK = 16
#: Precision of the population forward pass: lax precision and computation dtype (None: JAX's defaults).
#: "float32" is the paper's arithmetic (its GPUs had no TF32); "tf32" is the GPU default; "bf16" halves memory.
PRECISIONS = {"float32": ("highest", None), "tf32": (None, None), "bf16": (None, jnp.bfloat16)}


def _conv(x, kernel, precision=None):
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMS, precision=precision)


def _pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _cnn_head(h1, p, precision=None):
    """Layers 2..end of the vision CNN for one member, from its pooled layer-1 activations."""
    h = _pool(_conv(h1, p["Conv_1"]["kernel"], precision))
    h = jax.nn.relu(h + p["Conv_1"]["bias"])
    h = h.reshape(h.shape[0], -1)
    return jax.nn.log_softmax(jnp.dot(h, p["Dense_0"]["kernel"], precision=precision) + p["Dense_0"]["bias"])


def _cnn_chunk(x, p, precision=None):
    """A chunk of members (leading axis C) on a shared batch x: layer 1 as one convolution."""
    k1 = p["Conv_0"]["kernel"]                       # (C, 5, 5, 1, 8)
    c, kh, kw, cin, cout = k1.shape
    k1 = jnp.moveaxis(k1, 0, -2).reshape(kh, kw, cin, c * cout)
    h = _pool(_conv(x, k1, precision))               # (B, 14, 14, C*8)
    h = h.reshape(h.shape[:3] + (c, cout))
    h = jax.nn.relu(h + p["Conv_0"]["bias"])         # bias (C, 8) broadcasts over (B, 14, 14)
    h = jnp.moveaxis(h, 3, 0)                        # (C, B, 14, 14, 8)
    return lax.map(lambda args: _cnn_head(*args, precision), (h, p))


def cnn_population_logprobs(pop_params, x, precision=None):
    """Log-probabilities (pop, batch, classes) of the paper's CNN for every member on batch ``x`` (CPU kernel).

    Vmapped over seeds it follows :func:`on_shared_input`'s rule, so the per-member convolutions stay plain.
    """
    fn = on_shared_input(lambda pc, x: _cnn_chunk(x, pc["params"], precision), lambda pop, x: CNN_CHUNK,
                         split_pass=False)
    return fn(pop_params, x)


#: Activation bytes of the vmapped CNN per member and image in float32, measured on an H100 (the allocation the
#: forward pass asked for at 640 members x 1024 images, 30 GiB, over members x images; see benchmarks/RESULTS.md).
CNN_ACTIVATION_BYTES = 49 * 1024
#: Share of the device's memory that one chunk's activations may take (the rest holds data and the ES state).
VISION_MEMORY_SHARE = 0.5


def device_memory_bytes() -> int | None:
    """The memory JAX may use on the default device (its allocator's limit), or None where unknown (CPU)."""
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("bytes_limit")


def auto_vision_chunk(pop: int, batch: int, itemsize: int = 4, memory: int | None = None) -> int:
    """Members per chunk of the vmapped CNN so that a chunk's activations fit ``VISION_MEMORY_SHARE`` of the
    device's memory; the whole population where the memory is unknown (CPU). Chunks are spread evenly."""
    memory = device_memory_bytes() if memory is None else memory
    if not memory:
        return pop
    per_member = CNN_ACTIVATION_BYTES * itemsize // 4 * batch
    largest = max(1, int(VISION_MEMORY_SHARE * memory) // per_member)
    n_chunks = -(-pop // largest)
    return -(-pop // n_chunks)


def default_backend() -> str:
    return "fast" if jax.default_backend() == "cpu" else "vmap"


def is_paper_cnn(module) -> bool:
    return isinstance(module, VisionCNN) and tuple(module.features) == (8, 16)


def apply_shared(module, pop_params, x, backend: str | None = None, chunk="auto", precision: str = "float32"):
    """Every member on the same inputs ``x``; output (pop, *module output).

    ``backend``: "fast" (the CPU kernel for the paper's CNN) or "vmap" (the module vmapped over members; the
    default on accelerators). ``chunk``: members per pass of the vmapped module ("auto": as many as fit the
    device's memory, :func:`auto_vision_chunk`; None: all; or a number). ``precision``: see ``PRECISIONS``.
    """
    backend = backend or default_backend()
    lax_precision, dtype = PRECISIONS[choice("precision", precision, PRECISIONS)]
    if backend == "fast" and is_paper_cnn(module):
        if dtype is not None:
            raise ConfigError("precision 'bf16' runs on the vmapped population (population_backend='vmap', the "
                              "default on accelerators); the CPU kernel computes in float32")
        return cnn_population_logprobs(pop_params, x, lax_precision)
    if is_paper_cnn(module):
        module = module.clone(precision=lax_precision, dtype=dtype)
    itemsize = 2 if dtype is not None else 4

    def size(pop, x):
        if chunk == "auto":
            return auto_vision_chunk(pop, x.shape[0], itemsize)
        return pop if chunk is None else chunk

    fn = on_shared_input(lambda pc, x: jax.vmap(module.apply, in_axes=(0, None))(pc, x).astype(jnp.float32), size,
                         seeds_in_turn=False)
    return fn(pop_params, x)


#: Weights of one chunk of members that should stay in a core's cache for a whole rollout (measured on a
#: 2-core Xeon with 2 MiB of L2 per core: chunks of ~1 MiB ran fastest; see benchmarks/RESULTS.md).
CHUNK_CACHE_BYTES = 1 << 20
#: Rows each member's weights serve per step (e.g. rollouts per member) from which a step of a small
#: population is compute-bound and one pass over the whole population is fastest ...
COMPUTE_BOUND_ROWS = 8
#: ... unless the population's weights exceed this, so that every step streams them from memory anyway
#: (MinAtar's CNN: 307 KiB a member, 79 MiB for 256 members, ran 1.5x faster in chunks of 16).
WHOLE_POPULATION_MAX_BYTES = 16 << 20
MIN_CHUNK = 16


def auto_chunk(pop: int, member_bytes: int, rows_per_member: int, backend: str | None = None) -> int:
    """Members per chunk for :func:`map_population`.

    On GPUs, and on CPU when a step is compute-bound (at least ``COMPUTE_BOUND_ROWS`` rows per member and
    at most ``WHOLE_POPULATION_MAX_BYTES`` of weights), the whole population. Otherwise as many members as
    keep ``CHUNK_CACHE_BYTES`` of weights (at least ``MIN_CHUNK``), spread evenly so padding is minimal.
    """
    backend = backend or jax.default_backend()
    compute_bound = rows_per_member >= COMPUTE_BOUND_ROWS and pop * member_bytes <= WHOLE_POPULATION_MAX_BYTES
    if backend != "cpu" or compute_bound:
        return pop
    largest = max(MIN_CHUNK, CHUNK_CACHE_BYTES // max(1, member_bytes))
    n_chunks = -(-pop // largest)
    return -(-pop // n_chunks)


def check_population_chunk(chunk):
    """``population_chunk`` must be "auto", None or a positive int."""
    if chunk in ("auto", None) or (isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= 1):
        return chunk
    raise ConfigError(f"population_chunk={chunk!r} is out of range: it must be 'auto', None (the whole "
                      "population at once) or a number of members >= 1")


def member_bytes(pop_params) -> int:
    """Bytes of one member's parameters."""
    return sum(a.dtype.itemsize * int(np.prod(a.shape[1:])) for a in jax.tree_util.tree_leaves(pop_params))


def map_population(fn, chunk="auto", rows_per_member: int = 1):
    """Run ``fn(pop_params, *per_member)`` (leading population axis everywhere) ``chunk`` members at a time.

    ``chunk``: an int, None (whole population) or "auto" (:func:`auto_chunk`, from the parameters' size and
    ``rows_per_member``). Vmapped over seeds, the seeds' populations are merged first and then chunked.
    """
    def run(pop_params, *per_member):
        pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
        size = (auto_chunk(pop, member_bytes(pop_params), rows_per_member) if chunk == "auto"
                else min(pop, chunk or pop))
        return chunks_over_devices(lambda args: fn(*args), size, (pop_params, *per_member))

    return merging_seed_axis(run)
