"""Cores of their own for grid cells that run at once on one machine (``lottery-kit grid --cores-per-cell N``).

Two JAX processes that share every core run slower than the same two pinned to cores of their own: each sizes its
thread pools to all cores, and the two contend. Measured on this project's 2-core machine (2026-12-03,
``benchmarks/pinned_cells.py``): SNES on CartPole-v1 at population 100 × 8 rollouts, 5 seeds vmapped, two processes
at once: 0.34-0.42 s a generation each when they share both cores, 0.33-0.34 s pinned to one core each, with the
same output bit for bit. A cell claims its cores with one ``flock`` per core in a machine-wide directory, so cells of
different grids (a task's grid and its null) never claim the same core, and the kernel drops the claim when the
cell's process ends, however it ends. When no group of free cores is left, the cell runs unpinned.

Pin at the start, as a cell does, before JAX starts: XLA sizes its thread pools from the cores a process may use when
it starts (13 threads pinned to one core against 17 on two), so a JAX process pinned while it runs keeps pools made
for more cores, whose threads then take turns on fewer (two long CartPole cells pinned that way took 14.6-15.1 min a
round, 11-12 min unpinned).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

#: The environment variable through which the grid runner tells a cell how many cores to claim.
ENV = "LOTTERY_KIT_CORES_PER_CELL"


#: Where cells claim cores, when set (default: one machine-wide directory a user, :func:`claims_dir`); cells that
#: claim in different directories do not see each other's claims.
CLAIMS_ENV = "LOTTERY_KIT_CORE_CLAIMS"


def claims_dir() -> Path:
    """The directory of core claims: ``$LOTTERY_KIT_CORE_CLAIMS``, else one machine-wide directory a user."""
    return Path(os.environ.get(CLAIMS_ENV) or Path(tempfile.gettempdir()) / f"lottery-kit-cores-{os.getuid()}")


def usable_cores() -> set[int]:
    """The cores this process may run on (all of them where the system has no CPU affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return os.sched_getaffinity(0)
    return set(range(os.cpu_count() or 1))


def core_groups(per_cell: int, cores=None) -> list[list[int]]:
    """The groups of ``per_cell`` consecutive cores out of ``cores`` (default: those this process may run on)."""
    cores = sorted(usable_cores() if cores is None else cores)
    return [cores[i:i + per_cell] for i in range(0, len(cores) - per_cell + 1, per_cell)]


def claim(group: list, directory: Path, stack: ExitStack, kind: str = "core") -> bool:
    """Lock every ``kind`` (a core, or an accelerator) of ``group`` (kept open on ``stack``), or none of them."""
    held = ExitStack()
    for item in group:
        fh = held.enter_context(open(directory / f"{kind}-{item}.lock", "a+"))
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.close()
            return False
    stack.enter_context(held)
    return True


@contextmanager
def own_cores(per_cell: int | None, directory=None):
    """While the block runs, pin this process (and the processes it starts) to a group of ``per_cell`` cores that
    no other cell holds; yield the group, or None where nothing was pinned (``per_cell`` unset, no free group, or
    no CPU affinity on this system)."""
    if not per_cell or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    directory = Path(directory or claims_dir())
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        before = os.sched_getaffinity(0)
        group = next((g for g in core_groups(per_cell) if claim(g, directory, stack)), None)
        if group is not None:
            os.sched_setaffinity(0, group)
            stack.callback(os.sched_setaffinity, 0, before)
        yield group
