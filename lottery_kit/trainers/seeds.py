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


def over_seeds(run, in_axes=0, backend: str | None = None):
    """``run`` batched over a leading seed axis of the arguments ``in_axes`` marks (0) or shares (None)."""
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return jax.vmap(run, in_axes=in_axes)
    axes = in_axes if isinstance(in_axes, (tuple, list)) else None

    def mapped(*args):
        spec = axes if axes is not None else (in_axes,) * len(args)
        batched = [i for i, ax in enumerate(spec) if ax is not None]

        def one(xs):
            full = list(args)
            for i, x in zip(batched, xs):
                full[i] = x
            return run(*full)

        return jax.lax.map(one, tuple(args[i] for i in batched))

    return mapped
