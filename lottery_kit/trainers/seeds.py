"""Seeds batched into one jitted round: ``over_seeds(run)`` is ``jax.vmap(run)`` with a CPU exception.

On CPU the seeds run one after another inside the same compiled program (``lax.map``), for two measured reasons:
a vmapped convolution gradient (per-seed weights on per-seed batches) becomes a grouped convolution, which XLA's CPU
backend runs an order of magnitude slower than separate ones; and a seed run this way computes exactly the numbers
it computes alone (vmapped, float rounding differs, and reinforcement learning amplifies it: PPO on CartPole drifted
to other returns within 100k steps), while costing the same for the small networks of the control tasks. On
accelerators the seeds are vmapped.
"""

from __future__ import annotations

import jax

from ..sharding import over_devices


def over_seeds(run, in_axes=0, backend: str | None = None):
    """``run`` batched over a leading seed axis of the arguments ``in_axes`` marks (0) or shares (None), the seeds
    spread over the run's devices (:func:`lottery_kit.sharding.over_devices`; each device runs its seeds as one
    device runs them all)."""
    backend = backend or jax.default_backend()
    axes = in_axes if isinstance(in_axes, (tuple, list)) else None

    def spread(*args):
        spec = axes if axes is not None else (in_axes,) * len(args)
        batched = [i for i, ax in enumerate(spec) if ax is not None]
        shared_at = [i for i in range(len(args)) if i not in batched]

        def assemble(seeded, shared):
            full = [None] * len(args)
            for i, a in [*zip(batched, seeded), *zip(shared_at, shared)]:
                full[i] = a
            return full

        def on_device(seeded, *shared):
            if backend != "cpu":
                return jax.vmap(run, in_axes=in_axes)(*assemble(seeded, shared))
            return jax.lax.map(lambda xs: run(*assemble(xs, shared)), seeded)

        return over_devices(on_device, tuple(args[i] for i in batched), tuple(args[i] for i in shared_at))

    return spread
