"""One grid cell in a process of its own: ``python -m lottery_kit.cell NOTEBOOK CELL_DIR PARENT_PID``.

The grid runner starts this process with the cell's working directory and environment, so cells that run at once
(threads of a local pool, or a Dask worker's) never share a working directory or ``os.environ``. The process dies with
the runner that started it (Linux's parent-death signal), its kernel talks over IPC sockets in a private temporary
directory, removed when the kernel is done or, after a kill, by the next cell (no TCP ports, no ipykernel warning
about unencrypted TCP), and it writes the cell's ``status.json`` atomically when the notebook has finished or failed.
It holds the cell's ``.cell.lock`` while it lives, so that ``lottery-kit progress`` can tell a cell whose kernel is
still starting from one not started.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from . import accelerators, affinity, locks
from .grid import CELL_LOCK
from .kernel_exec import die_with_parent
from .store import atomic_write_text


def ipc_kernel_manager(socket_dir: str) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels listen on IPC sockets in ``socket_dir`` and die with the process that
    started them."""

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, "-m", "lottery_kit.kernel_exec", str(os.getpid()), *cmd]

    return IPCKernelManager


#: Longest path a Unix socket may have: Linux's ``sun_path`` holds 107 bytes and a NUL, macOS's 103 and a NUL.
UNIX_SOCKET_PATH_MAX = 103
SOCKET_DIR_PREFIX = "lottery-kit-kernel-"


#: The lock a living cell holds in its socket directory; a directory whose lock nobody holds was left by a cell that
#: was killed (SIGKILL leaves no chance to clean up), and the next cell removes it.
OWNER_LOCK = "owner.lock"


@contextmanager
def kernel_socket_dir():
    """A private directory for a kernel's IPC sockets (its path), removed on exit; directories that killed cells left
    beside it are removed first.

    It lies in the temporary directory (``TMPDIR``) where the sockets' paths fit a Unix socket's limit, else in
    ``/tmp``: ZMQ refuses a longer path with "File name too long", and a deep ``TMPDIR`` (pytest's, a cluster job's)
    is common.
    """
    longest_name = len(os.path.join(SOCKET_DIR_PREFIX + "x" * 8, "kernel-99999"))   # mkdtemp's 8 characters, a port
    candidates = [tempfile.gettempdir(), "/tmp"]
    fits = [c for c in candidates if len(os.path.abspath(c)) + 1 + longest_name <= UNIX_SOCKET_PATH_MAX]
    parent = next((c for c in fits if os.access(c, os.W_OK)), None)
    if parent is None:
        raise RuntimeError(f"no writable directory among {candidates} is short enough for a kernel's sockets (at "
                           f"most {UNIX_SOCKET_PATH_MAX - 1 - longest_name} characters); set TMPDIR to a short one")
    remove_abandoned_socket_dirs(parent)
    with tempfile.TemporaryDirectory(prefix=SOCKET_DIR_PREFIX, dir=parent) as path:
        # locked before it gets its name, so that no other cell ever finds it unlocked
        with open(os.path.join(path, OWNER_LOCK + ".new"), "w") as owner:
            fcntl.flock(owner, fcntl.LOCK_EX)
            os.rename(owner.name, os.path.join(path, OWNER_LOCK))
            yield path


def remove_abandoned_socket_dirs(parent: str) -> None:
    """Remove the socket directories in ``parent`` whose owner lock nobody holds."""
    for directory in Path(parent).glob(SOCKET_DIR_PREFIX + "*"):
        try:
            # no lock file: a cell still making its directory, or one that an older version left (remove by hand)
            with open(directory / OWNER_LOCK) as owner:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(directory, ignore_errors=True)
        except OSError:   # held by a living cell, another user's, or gone meanwhile
            continue


#: Seconds a cell's kernel may take to start. papermill's default, 60 s, is too short on a loaded machine: cells of a
#: grid run under ``nice`` beside other work failed there with "Kernel didn't respond in 60 seconds" (2026-12-02).
KERNEL_START_TIMEOUT = 600


def execute(notebook: str, cell_dir: Path) -> dict:
    """Run the notebook with the cell's parameters (``params.json``); return and store the cell's status."""
    import papermill as pm

    params = json.loads((cell_dir / "params.json").read_text())
    start = time.time()
    try:
        with kernel_socket_dir() as sockets:   # removed when the kernel is done
            pm.execute_notebook(notebook, str(cell_dir / Path(notebook).name),
                                parameters={**params, "out_dir": str(cell_dir)}, progress_bar=False, log_output=False,
                                kernel_manager_class=ipc_kernel_manager(sockets), start_timeout=KERNEL_START_TIMEOUT)
        status = {"state": "done", "error": None}
    except Exception as err:  # papermill wraps the notebook's own exception
        status = {"state": "failed", "error": f"{type(err).__name__}: {err}"[-4000:],
                  "traceback": traceback.format_exc()[-8000:]}
    status |= {"seconds": round(time.time() - start, 2), "params": params}
    atomic_write_text(cell_dir / "status.json", json.dumps(status, indent=2, default=str))
    return status


def main(argv=None) -> int:
    argv = argv or sys.argv[1:]
    notebook, cell_dir, parent = argv[:3]
    die_with_parent(int(parent))
    cores, gpus = (int(os.environ.get(name) or 0) for name in (affinity.ENV, accelerators.ENV))
    with locks.exclusive(Path(cell_dir) / CELL_LOCK, what=f"grid cell {cell_dir}"), affinity.own_cores(cores), \
            accelerators.own_gpus(gpus):
        return 0 if execute(notebook, Path(cell_dir))["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
