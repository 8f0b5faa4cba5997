"""Progress bars for jitted training loops: a tqdm bar fed from inside compiled code.

Trainers run a whole round as one jitted function; :class:`Progress` hands it a token, and the compiled
loop reports how far it got through ``Progress.report`` (a ``jax.debug.callback``). Executables that
hold a host callback are not written to JAX's persistent compilation cache, so batch runs (grid cells,
``$LOTTERY_KIT_PROGRESS=0``) build their loops without it.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm


def default_progress() -> bool:
    """Progress bars unless ``$LOTTERY_KIT_PROGRESS=0``, which the grid runner sets for its batch cells:
    their output is a stored notebook, and jitted code without the progress callback is cacheable on disk."""
    return os.environ.get("LOTTERY_KIT_PROGRESS", "1") != "0"


class Progress:
    """A tqdm bar over ``total`` units of a jitted loop; a no-op when ``enabled`` is false."""

    _bars: dict[int, tqdm] = {}

    def __init__(self, enabled: bool, total: int, desc: str, unit: str = "gen"):
        self.enabled, self.total, self.desc, self.unit = enabled, total, desc, unit
        self.token = jnp.int32(id(self) % (2**31 - 1))

    def __enter__(self):
        if self.enabled:
            Progress._bars[int(self.token)] = tqdm(total=self.total, desc=self.desc or self.unit, unit=self.unit,
                                                   leave=False)
        return self

    def __exit__(self, *exc):
        bar = Progress._bars.pop(int(self.token), None)
        if bar is not None:
            bar.close()

    @staticmethod
    def tick(token, done, after):
        """Host side of the callback: ``done`` units finished (the largest over vmapped seeds); ``after`` orders it."""
        bar = Progress._bars.get(int(np.max(token)))
        done = int(np.max(done))
        if bar is not None and done > bar.n:
            bar.update(done - bar.n)

    @staticmethod
    def report(enabled: bool, token, done, after) -> None:
        """Call inside jitted code: report ``done`` units once ``after`` is computed (nothing is traced when
        ``enabled`` is false). ``after`` is the work just done (a block's validation score): without that data
        dependency XLA may run the callback as soon as ``done`` is known, before the block it reports."""
        if enabled:
            jax.debug.callback(Progress.tick, token, done, after)
