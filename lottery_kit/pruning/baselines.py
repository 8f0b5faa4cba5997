"""Baselines: a named score × weights policy, applied under a sparsity distribution.

``baseline(key, outcome, n_keep, task, signal="final", counts=None, min_per_layer=0) -> (next_init, next_mask)``
for ONE seed (the IMP driver vmaps it over seeds); ``counts`` are the per-kernel counts of a layer-wise
distribution (:meth:`~lottery_kit.pruning.distributions.Distribution.layer_counts`), None for the global one.
The key goes to the parts that draw random numbers: split in two when both the score and the weights policy do,
whole when one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from .. import masks
from ..registry import Registry
from ..validate import ConfigError
from .distributions import select
from .scores import SCORES, get_score, require_loss
from .weights import WEIGHTS, get_weights


@dataclass(frozen=True)
class Baseline:
    score: str
    weights: str = "rewind"

    def __post_init__(self):
        SCORES.lookup(self.score)
        WEIGHTS.lookup(self.weights)

    @property
    def needs(self) -> frozenset:
        return SCORES[self.score].needs

    @property
    def from_dense(self) -> bool:
        return SCORES[self.score].from_dense

    def __call__(self, key, outcome, n_keep, task, signal="final", counts=None, min_per_layer: int = 0):
        score, policy = get_score(self.score), get_weights(self.weights)
        if score.random and policy.random:
            k_score, k_weights = jax.random.split(key)
        else:
            k_score = k_weights = key
        scores = score.fn(k_score, outcome, task, signal)
        among = masks.dense_mask(outcome.mask) if score.from_dense else outcome.mask
        mask = select(scores, among, n_keep, counts, min_per_layer)
        return policy.fn(k_weights, outcome, mask, task)


#: The paper's eight baselines (their names are the results' ``baseline`` column).
BASELINES: Registry = Registry("baseline", {
    "final-ticket": Baseline("magnitude", "rewind"),
    "sig2noise": Baseline("snr", "rewind"),
    "random-reinit": Baseline("random", "reinit"),
    "mask-reinit": Baseline("magnitude", "reinit"),
    "final-ticket_permute": Baseline("magnitude", "permute"),
    "final_permute-ticket_permute": Baseline("magnitude", "shuffle"),
    "snip": Baseline("snip", "rewind"),
    "grasp": Baseline("grasp", "rewind"),
    "iterate-snr": Baseline("iterate-snr", "rewind"),   # the kit's: SNR pruning for gradient descent
    # the kit's controls for SNR pruning's mechanism (papers_figures/preregistration.md)
    "sig2noise-shuffled": Baseline("snr-shuffled", "rewind"),
    "magnitude-layer-std": Baseline("magnitude-layer-std", "rewind"),
})


def register_baseline(name: str, score: str, weights: str = "rewind", *, replace: bool = False) -> Baseline:
    """Add a named baseline, usable as the ``baseline`` parameter of every notebook and grid."""
    return BASELINES.register(name, Baseline(score, weights), replace=replace)


def get_baseline(name: str) -> Baseline:
    return BASELINES.lookup(name)


def check_needs(name: str, trainer, task) -> None:
    """Refuse a trainer that does not state the whole trainer contract, and a baseline whose score needs what the
    trainer or the task cannot give (before any work)."""
    from ..trainers.protocol import check_trainer   # the trainers import pruning

    check_trainer(trainer)
    needs, label = get_baseline(name).needs, trainer.config()["strategy"]
    if "search_distribution" in needs and not trainer.search_distribution:
        raise ConfigError(f"baseline {name!r} ranks weights by the signal-to-noise ratio of an evolution "
                          f"strategy's search distribution; {label} has none. With {label} use final-ticket "
                          "(magnitude), random-reinit, mask-reinit, the *_permute controls, snip, grasp or "
                          "iterate-snr")
    if "iterates" in needs and not trainer.iterate_statistics:
        raise ConfigError(f"baseline {name!r} ranks weights by the signal-to-noise ratio of gradient-descent "
                          f"iterates; {label} records none. Use it with Adam or PPO, and sig2noise with an ES")
    if "loss" in needs and task is not None:
        require_loss(task, name)
