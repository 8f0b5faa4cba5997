"""One compiled round program per trainer and task, so that the rounds of a run reuse one executable.

Every round of a run has the same shapes (masks are full-size, seeds and data fixed), so only a new Python function
would make ``jax.jit`` compile again; a trainer keeps its jitted program here, keyed by the task.
"""

from __future__ import annotations

import jax

from ..sharding import count, placed


def once_per_task(programs: dict, task, build):
    """``jax.jit(build())`` (:func:`lottery_kit.sharding.placed`), made once per ``task`` and device count (:func:`lottery_kit.sharding.count`: a program
    is traced for the devices it spreads over) and kept in ``programs`` (a trainer's own dict). The entry holds the
    task itself, so its ``id`` cannot be reused by another task while the program lives."""
    key = (id(task), count())
    if key not in programs:
        programs[key] = (task, placed(jax.jit(build())))
    return programs[key][1]
