"""A CPU's cores as JAX devices: how many host devices a process gets, fixed before JAX starts.

XLA's CPU backend is one device, whatever the cores, and one device runs a population on about one core (measured on
this project's 2-core machine: 1.02 cores for a lone run). With ``--xla_force_host_platform_device_count=N`` in
``XLA_FLAGS`` it is N devices, over which a run spreads its seeds and members (:mod:`lottery_kit.sharding`). The flag
is read once, when JAX starts its backend (the first computation, or evosax's import), so ``import lottery_kit`` sets
it: N is ``$LOTTERY_KIT_DEVICES`` where set (the grid runner sets it for each cell), else the number given in
``XLA_FLAGS`` already, else the cores this process may run on (its affinity mask, :func:`lottery_kit.affinity
.usable_cores`). :func:`configure` changes it before JAX starts. Accelerators are not affected: on a GPU machine the
devices are the visible GPUs (``CUDA_VISIBLE_DEVICES``, :mod:`lottery_kit.accelerators`).

Imports nothing heavy (no JAX): the package imports it first.
"""

from __future__ import annotations

import os
import re
import sys

from .affinity import usable_cores
from .validate import ConfigError

#: The environment variable that sets the number of host devices (a positive integer).
ENV = "LOTTERY_KIT_DEVICES"
FLAG = "--xla_force_host_platform_device_count"
_FLAG_RE = re.compile(re.escape(FLAG) + r"=(\S*)")


def jax_started() -> bool:
    """Whether JAX has started its backends in this process (after which the device count is fixed)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(bridge is not None and getattr(bridge, "_backends", None))


def parse_count(name: str, value) -> int:
    """A device count from a parameter or an environment variable: a positive integer, else a clear error."""
    try:
        count = int(str(value).strip())
    except ValueError:
        count = 0
    if count < 1 or isinstance(value, bool) or (isinstance(value, float) and value != count):
        raise ConfigError(f"{name}={value!r} is out of range: it must be a whole number of devices >= 1")
    return count


def flag_count() -> int | None:
    """The host device count that ``XLA_FLAGS`` gives already, or None."""
    found = _FLAG_RE.findall(os.environ.get("XLA_FLAGS", ""))
    return parse_count(f"XLA_FLAGS {FLAG}", found[-1]) if found else None


def default_count() -> int:
    """``$LOTTERY_KIT_DEVICES``, else the count in ``XLA_FLAGS``, else the cores this process may run on."""
    if os.environ.get(ENV):
        return parse_count(ENV, os.environ[ENV])
    return flag_count() or len(usable_cores())


def with_count(flags: str, count: int) -> str:
    """``flags`` (an ``XLA_FLAGS`` value) with the host device count set to ``count`` (any earlier one removed)."""
    return " ".join([*_FLAG_RE.sub("", flags).split(), f"{FLAG}={count}"])


def configure(count=None) -> int:
    """Make ``count`` host devices (None: :func:`default_count`) in this process, before JAX starts; return the
    count. Once JAX has started on the CPU the count is fixed: asking for another raises, naming what to do instead
    (on accelerators the host count does not matter)."""
    if not jax_started():
        count = default_count() if count is None else parse_count("devices", count)
        os.environ["XLA_FLAGS"] = with_count(os.environ.get("XLA_FLAGS", ""), count)
        return count
    import jax

    have = len(jax.devices())
    if count is not None and parse_count("devices", count) != have and jax.default_backend() == "cpu":
        raise ConfigError(f"devices={count} cannot take effect: JAX has started in this process with {have} host "
                          f"device(s). Set {ENV}={count} before Python starts, or call this before anything that "
                          "starts JAX (importing evosax does)")
    return have


