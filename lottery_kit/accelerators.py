"""Accelerators of their own for grid cells that run at once (``lottery-kit grid --gpus-per-cell N``).

Every JAX process sees every GPU of its machine and, by default, preallocates most of each one's memory, so a second
cell on the same GPU fails or starves. A cell instead claims N GPUs that no other cell holds (one ``flock`` per GPU,
in the machine-wide directory of :mod:`lottery_kit.affinity`'s core claims, so cells of different grids never share
one), and its kernel sees only those: ``CUDA_VISIBLE_DEVICES`` (NVIDIA) and ``HIP_VISIBLE_DEVICES`` (AMD ROCm) list
them, ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` makes JAX take memory as it needs it rather than up front, and
``LOTTERY_KIT_DEVICES`` = N (:mod:`lottery_kit.host_devices`; on a machine without GPUs the cell gets N host devices,
which is how the tests see what a cell would see). A cell waits until a group of N is free.

The GPUs a cell chooses from: ``$LOTTERY_KIT_GPUS`` (ids, comma-separated) where set, else those that
``CUDA_VISIBLE_DEVICES`` or ``HIP_VISIBLE_DEVICES`` lists (a Slurm job's), else every NVIDIA GPU of the machine.
Imports nothing heavy: the cell's process runs it before its kernel starts.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .affinity import claim, claims_dir
from .host_devices import ENV as DEVICES_ENV
from .validate import ConfigError

#: The environment variable through which the grid runner tells a cell how many GPUs to claim.
ENV = "LOTTERY_KIT_GPUS_PER_CELL"
#: The GPUs cells may claim on this machine (ids, comma-separated), where set.
GPUS_ENV = "LOTTERY_KIT_GPUS"
#: The variables that restrict a process to some GPUs, by backend.
VISIBLE = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")
#: Seconds between two tries to claim a group while every group is held.
RETRY_SECONDS = 1.0


def _ids(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def machine_gpus() -> list[str]:
    """The GPUs cells may claim here (see the module's docstring); empty without any."""
    for name in (GPUS_ENV, *VISIBLE):
        if os.environ.get(name) is not None:
            return _ids(os.environ[name])
    nvidia = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(nvidia.iterdir())))] if nvidia.is_dir() else []


def gpu_groups(per_cell: int, gpus=None) -> list[list[str]]:
    """The groups of ``per_cell`` GPUs out of ``gpus`` (default: :func:`machine_gpus`), in order."""
    gpus = machine_gpus() if gpus is None else list(gpus)
    return [gpus[i:i + per_cell] for i in range(0, len(gpus) - per_cell + 1, per_cell)]


def check_gpus_per_cell(per_cell: int, gpus=None) -> list[list[str]]:
    """The groups for ``per_cell``, or a clear error where this machine has fewer GPUs than one cell needs."""
    groups = gpu_groups(per_cell, gpus)
    if not groups:
        have = machine_gpus() if gpus is None else list(gpus)
        raise ConfigError(f"gpus_per_cell={per_cell} is out of range: this machine offers {len(have)} GPU(s) "
                          f"({', '.join(have) or 'none'}; set {GPUS_ENV} or CUDA_VISIBLE_DEVICES to name them)")
    return groups


def cell_environment(group: list[str]) -> dict[str, str]:
    """What a cell's kernel sees for its GPUs ``group``: only those visible, memory taken as needed, one device
    each for the run to spread over."""
    visible = ",".join(group)
    return {**{name: visible for name in VISIBLE}, "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            DEVICES_ENV: str(len(group))}


@contextmanager
def own_gpus(per_cell: int | None, directory=None, retry_seconds: float = RETRY_SECONDS):
    """While the block runs, hold a group of ``per_cell`` GPUs that no other cell holds (waiting until one is free)
    and give this process (and the processes it starts) :func:`cell_environment`; yield the group, or None where
    ``per_cell`` is unset."""
    if not per_cell:
        yield None
        return
    groups = check_gpus_per_cell(per_cell)
    directory = Path(directory or claims_dir())
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        while (group := next((g for g in groups if claim(g, directory, stack, kind="gpu")), None)) is None:
            time.sleep(retry_seconds)
        before = {name: os.environ.get(name) for name in cell_environment(group)}
        os.environ.update(cell_environment(group))
        stack.callback(_restore, before)
        yield group


def _restore(before: dict) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
