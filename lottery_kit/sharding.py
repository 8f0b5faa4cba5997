"""Seeds and population members spread over the devices a run is given (a one-axis ``jax.sharding.Mesh``).

The kernels that do a run's work, a population's rollouts or forward passes (:mod:`lottery_kit.population`) and a
gradient-descent trainer's seeds (:mod:`lottery_kit.trainers.seeds`), call :func:`over_devices`: the leading axis
(members, or seeds) is cut into one contiguous block per device, each device runs the kernel on its block with
``shard_map``, and every device gets all the outputs back (an all-gather), so everything around the kernel (the ES's
ask and tell, the guard, the validation score) runs replicated, as on one device. Each member's (or seed's)
numbers are computed by the same code on the same inputs as on one device: over 1, 2 and 3 devices, ES runs on
control tasks and Adam runs agree bit for bit, ES runs on vision tasks in their scores, their means within 1e-6 of
the largest weight (``tests/test_sharding.py``). A count that does not divide the devices is padded with copies of the last item, whose
outputs are dropped.

How many devices: every device of the process (``jax.devices()``: the CPU's cores as host devices,
:mod:`lottery_kit.host_devices`, or the visible GPUs), or the first ``devices`` of them inside :func:`spread`
(``run_imp(..., devices=N)``). One device, or a kernel inside another's block, runs the kernel as it is. A
trainer's round program takes its inputs on every device and gives its outputs back on the first (:func:`placed`),
so that the rest of a run computes on one device exactly as a one-device run does.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager

from .host_devices import ENV
from .validate import number

#: The mesh's one axis.
AXIS = "devices"

_SPREAD = contextvars.ContextVar("lottery_kit_spread", default=None)   # devices of the run (None: all)
_IN_BLOCK = contextvars.ContextVar("lottery_kit_in_block", default=False)   # tracing one device's block


def available() -> int:
    """The number of devices this process has."""
    import jax

    return len(jax.devices())


def check_devices(devices) -> int | None:
    """``devices`` (None: all of them) if this process has that many, else a clear error."""
    if devices is None:
        return None
    have = available()
    number("devices", devices, integer=True, low=1, high=have,
           why=f"this process has {have} device(s); on a CPU, set {ENV}=N before Python starts for N host devices")
    return int(devices)


@contextmanager
def spread(devices: int | None = None):
    """Inside the block, kernels spread over the first ``devices`` devices (None: every device). Programs are
    traced with the count in force when they are traced (trainers keep one per count, :mod:`.trainers.programs`)."""
    token = _SPREAD.set(check_devices(devices))
    try:
        yield
    finally:
        _SPREAD.reset(token)


def count() -> int:
    """The devices a kernel traced now spreads over (1 inside a device's block)."""
    if _IN_BLOCK.get():
        return 1
    return _SPREAD.get() or available()


@functools.lru_cache(maxsize=None)
def mesh(devices: int):
    """The one-axis mesh of the first ``devices`` devices."""
    import jax
    import numpy as np
    from jax.sharding import Mesh

    return Mesh(np.array(jax.devices()[:devices]), (AXIS,))


def placed(program):
    """``program`` (jitted, its kernels spread over the devices in force now) called with its inputs on every one of
    those devices and its outputs given back on the first: the work around it (pruning, diagnostics, storing) then
    runs on one device, compiled as without spreading. ``program.lower`` is kept. As it is on one device."""
    if count() < 2:
        return program
    import jax

    first = jax.devices()[0]

    def call(*args):
        return jax.device_put(program(*everywhere(args)), first)

    call.lower = lambda *args: program.lower(*everywhere(args))
    return call


def everywhere(tree):
    """``tree`` on every device that kernels traced now spread over (as it is on one device), so that arrays that
    live on one device can enter a program spread over several."""
    n_devices = count()
    if n_devices < 2:
        return tree
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P

    return jax.device_put(tree, NamedSharding(mesh(n_devices), P()))


def pad_repeating_last(tree, pad: int):
    """Every leaf with ``pad`` copies of its last item appended along the leading axis."""
    import jax
    import jax.numpy as jnp

    if not pad:
        return tree
    return jax.tree_util.tree_map(lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]), tree)


def over_devices(fn, tree, shared=(), unit: int = 1):
    """``fn(tree, *shared)`` with the leading axis of ``tree`` cut into one block per device, each a multiple of
    ``unit`` long (so that a kernel that runs ``unit`` items at a time sees the same groups as on one device);
    ``shared`` goes whole to every device. Outputs have the leading axis of ``tree`` and every device holds them.
    Runs ``fn`` as it is on one device, inside another block, and for fewer than two items."""
    import jax
    from jax.sharding import PartitionSpec as P

    n_devices = count()
    items = jax.tree_util.tree_leaves(tree)[0].shape[0]
    if n_devices < 2 or items < 2:
        return fn(tree, *shared)
    units = -(-items // unit)
    per_device = -(-units // n_devices) * unit

    def block(part, *shared):
        token = _IN_BLOCK.set(True)
        try:
            out = fn(part, *shared)
        finally:
            _IN_BLOCK.reset(token)
        return jax.tree_util.tree_map(lambda a: jax.lax.all_gather(a, AXIS, tiled=True), out)

    run = jax.shard_map(block, mesh=mesh(n_devices), in_specs=(P(AXIS),) + (P(),) * len(shared), out_specs=P(),
                        check_vma=False)
    out = run(pad_repeating_last(tree, per_device * n_devices - items), *shared)
    return jax.tree_util.tree_map(lambda a: a[:items], out)

