"""A grid cell's kernel, started as ``python -m lottery_kit.kernel_exec PARENT_PID KERNEL_CMD...``: it asks Linux to
kill it with its parent (the cell's process) and becomes the kernel (the signal survives ``exec``). Imports nothing
heavy: it runs once per cell, before the kernel itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent dies; exit now if the parent is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the cell outlives a killed runner, and its lock protects the run
        return
    if os.getppid() != parent_pid:
        os._exit(1)


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
