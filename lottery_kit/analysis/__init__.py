"""Analyses of stored networks (the paper's Figures 6 and 7): pure functions, batched with jit and vmap.

- :mod:`.scoring`: the test (or validation) score of many networks in one call.
- :mod:`.connectivity`: linear mode connectivity: scores along the straight line between two networks, and the barrier.
- :mod:`.flatness`: scores under Gaussian perturbations of the kept weights, at several radii.
- :mod:`.dynamics`: SNR against magnitude pruning over rounds: rank correlations, thresholds, ticket overlap, per-layer
  statistics of the weights.
- :mod:`.stats`: statistics of results tables: paired comparisons over seeds, the sign-flip test, the mixed model,
  equivalence, Holm's correction, survival analysis of capped tasks.
- :mod:`.decisions`: the pre-registration's decision rules, in its words.
"""

from .connectivity import barrier, interpolate, linear_path, linear_paths
from .decisions import mechanism_decision, primary_decision, sepcma_decision
from .dynamics import layer_statistics, pruning_thresholds, rank_correlations, spearman, ticket_overlap
from .stats import (equivalence, equivalence_verdict, failure_rounds, gain_against_agreement, holm, kaplan_meier,
                    mixed_model, normalised_gain, paired_difference, paired_statistics, pooled_difference,
                    round_one_mismatches, seed_differences, sign_flip_power, sign_flip_test, survival_comparison,
                    trainable_until)
from .flatness import perturbation_curves, perturbation_scores
from .scoring import score_many, subset

__all__ = ["barrier", "equivalence", "equivalence_verdict", "failure_rounds", "gain_against_agreement",
           "holm", "interpolate", "kaplan_meier", "layer_statistics", "linear_path", "linear_paths",
           "mechanism_decision", "mixed_model", "normalised_gain", "paired_difference", "paired_statistics",
           "perturbation_curves", "perturbation_scores", "pooled_difference", "primary_decision", "pruning_thresholds",
           "rank_correlations", "round_one_mismatches", "score_many", "seed_differences", "sepcma_decision",
           "sign_flip_power", "sign_flip_test", "spearman", "subset", "survival_comparison", "ticket_overlap",
           "trainable_until"]
