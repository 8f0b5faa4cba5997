"""One compiled round program per trainer and task, so that the rounds of a run reuse one executable.

Every round of a run has the same shapes (masks are full-size, seeds and data fixed), so only a new Python function
would make ``jax.jit`` compile again; a trainer keeps its jitted program here, keyed by the task.
"""

from __future__ import annotations

import jax


def once_per_task(programs: dict, task, build):
    """``jax.jit(build())``, made once per ``task`` and kept in ``programs`` (a trainer's own dict). The entry holds
    the task itself, so its ``id`` cannot be reused by another task while the program lives."""
    if id(task) not in programs:
        programs[id(task)] = (task, jax.jit(build()))
    return programs[id(task)][1]
