"""Analyses of stored networks (the paper's Figures 6 and 7): pure functions, batched with jit and vmap.

- :mod:`.scoring`: the test (or validation) score of many networks in one call.
- :mod:`.connectivity`: linear mode connectivity: scores along the straight line between two networks, and the barrier.
- :mod:`.flatness`: scores under Gaussian perturbations of the kept weights, at several radii.
- :mod:`.dynamics`: SNR against magnitude pruning over rounds: gains, rank correlations, thresholds, per-layer statistics.
"""

from .connectivity import barrier, interpolate, linear_path, linear_paths
from .dynamics import (gain_against_agreement, layer_statistics, normalised_gain, paired_difference,
                       paired_statistics, pooled_difference, pruning_thresholds, rank_correlations, spearman,
                       ticket_overlap, trainable_until)
from .flatness import perturbation_curves, perturbation_scores
from .scoring import score_many, subset

__all__ = ["barrier", "gain_against_agreement", "interpolate", "layer_statistics", "linear_path", "linear_paths", "normalised_gain", "paired_difference",
           "paired_statistics", "perturbation_curves", "pooled_difference", "perturbation_scores", "pruning_thresholds", "rank_correlations", "score_many",
           "spearman", "subset", "ticket_overlap", "trainable_until"]
