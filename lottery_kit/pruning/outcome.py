"""What one IMP round leaves behind for the next: the trainer's outcome for one seed (or stacked over seeds)."""

from __future__ import annotations

from flax import struct


@struct.dataclass
class RoundOutcome:
    """What a trainer returns for one round (all parameter-shaped pytrees).

    ``rewind_point`` is the run's rewind point, dense: round 1's weights after ``rewind_step`` steps of training
    (θ0 itself when ``rewind_step`` is 0, the paper's). ``rewind`` is this round's weights after ``rewind_step``
    steps (None when it is 0); the IMP driver takes round 1's as the rewind point of every later round.
    ``iterate_mean``/``iterate_std``: a gradient-descent trainer's per-weight mean and standard deviation of its
    iterates over the last epoch or update block (None for evolution strategies), read by the ``iterate-snr`` score.
    """

    init: dict          # the weights this round trained from (masked)
    mask: dict
    final_mean: dict
    final_std: dict | None  # per-weight std of the search distribution (None for gradient-descent trainers)
    best_mean: dict
    rewind_point: dict
    rewind: dict | None = None
    iterate_mean: dict | None = None
    iterate_std: dict | None = None

    def mean(self, signal: str):
        return self.best_mean if signal == "best" else self.final_mean
