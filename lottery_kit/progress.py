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
    """A tqdm bar over ``total`` units of a jitted loop that trains ``seeds`` seeds; a no-op when ``enabled`` is
    false. The bar shows the units done, averaged over the seeds: seeds trained one after another (a CPU's
    ``lax.map``) move it in turn, so it is full only when the last seed has finished."""

    _bars: dict[int, tqdm] = {}

    def __init__(self, enabled: bool, total: int, desc: str, unit: str = "gen", seeds: int = 1):
        self.enabled, self.total, self.desc, self.unit, self.seeds = enabled, total, desc, unit, seeds
        self.token = jnp.int32(id(self) % (2**31 - 1))

    def __enter__(self):
        if self.enabled:
            bar = tqdm(total=self.total, desc=self.desc or self.unit, unit=self.unit, leave=False)
            bar.seeds, bar.seed_units = self.seeds, 0   # units finished, summed over the seeds
            Progress._bars[int(self.token)] = bar
        return self

    def __exit__(self, *exc):
        bar = Progress._bars.pop(int(self.token), None)
        if bar is not None:
            bar.close()

    @staticmethod
    def tick(token, units, after):
        """Host side of the callback: seeds finished a block of ``units`` units (JAX calls it once for each seed,
        vmapped or not; ``after`` has one entry per seed of the call). Padded seeds may report beyond the total."""
        bar = Progress._bars.get(int(np.max(token)))
        if bar is None:
            return
        bar.seed_units += int(np.max(units)) * int(np.size(after))
        whole, part = divmod(min(bar.seed_units, bar.total * bar.seeds), bar.seeds)
        done = round(whole + part / bar.seeds, 2) if part else whole   # "1/4 epoch", "1.5/4 epoch"
        if done > bar.n:
            bar.n = done
            bar.refresh()

    @staticmethod
    def report(enabled: bool, token, units, after) -> None:
        """Call inside jitted code, once a block of ``units`` units (generations, epochs, updates) is done:
        report it once ``after`` is computed (nothing is traced when ``enabled`` is false). ``after`` is the work
        just done (the block's validation score): without that data dependency XLA may run the callback as soon
        as the block starts."""
        if enabled:
            jax.debug.callback(Progress.tick, token, units, after)
