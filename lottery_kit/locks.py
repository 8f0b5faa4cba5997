"""Exclusive locks on directories, held by a process for as long as it works there.

A lock is an ``flock`` on a file in the directory: the kernel releases it when the holding process exits, however it
exits (SIGKILL included), so a lock never outlives its process and a killed run leaves none behind. The file
records the holder's host and pid for the message a second process gets.
"""

from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from .validate import ConfigError


class Busy(RuntimeError):
    """Another process holds the lock."""


@contextmanager
def exclusive(path, *, wait: bool = False, what: str = "this directory"):
    """Hold an exclusive lock on ``path`` (created if missing); wait for it, or raise :class:`Busy` at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise ConfigError(f"{path} must be a lock file, but it is a directory; remove it (it holds no results) and run "
                   "again")
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise Busy(f"{what} is in use by {holder} (lock {path}); wait for it to finish, or use another "
                       "directory") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def holder_alive(path) -> bool:
    """Whether the process recorded in lock file ``path`` still runs on this host, read without taking the lock
    (so it never stands in the way of the process that wants it). A lock file outlives its process, so this checks
    the recorded pid; a holder on another host counts as alive (it cannot be checked from here)."""
    try:
        _, pid, _, host = Path(path).read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # alive, owned by another user
        pass
    return True

