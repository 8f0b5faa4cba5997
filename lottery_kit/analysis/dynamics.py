"""SNR against magnitude pruning over IMP rounds (the paper's Figure 7), and per-layer statistics of tickets.

Weights are compared as flat vectors of the prunable (kernel) entries, the order of ``masks.flat_prunable``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .. import masks
from ..pruning import snr_scores
from ..store import load_config, load_round


def _ranks(x, mask):
    """Ranks 0..n−1 of the entries where ``mask`` is true (ties by position); 0 elsewhere."""
    order = jnp.argsort(jnp.where(mask, x, jnp.inf), stable=True)
    ranks = jnp.zeros(x.shape[0]).at[order].set(jnp.arange(x.shape[0], dtype=jnp.float32))
    return jnp.where(mask, ranks, 0.0)


@jax.jit
def spearman(a, b, mask=None):
    """Spearman's rank correlation of ``a`` and ``b`` over the entries where ``mask`` is true (all by default)."""
    mask = jnp.ones(a.shape, bool) if mask is None else mask
    centre = (mask.sum() - 1) / 2.0
    da = jnp.where(mask, _ranks(a, mask) - centre, 0.0)
    db = jnp.where(mask, _ranks(b, mask) - centre, 0.0)
    return (da * db).sum() / jnp.sqrt((da**2).sum() * (db**2).sum())


def flat(tree):
    return masks.flat_prunable(tree)[0]


def weight_scores(artifact: dict, rule: str):
    """The score each rule ranks a round's trained weights by: |μ|/σ ("sig2noise") or |μ| (magnitude)."""
    if rule == "sig2noise":
        return flat(snr_scores(artifact["final_mean"], artifact["final_std"]))
    return jnp.abs(flat(artifact["final_mean"]))


def rank_correlations(scores, round_masks):
    """Spearman correlation between round 1's scores and each round's, over the weights alive in that round.

    ``scores`` and ``round_masks``: (rounds, weights) for one seed, or (seeds, rounds, weights); returns (…, rounds).
    """
    scores, round_masks = jnp.asarray(scores), jnp.asarray(round_masks)

    def per_seed(s, ms):
        return jax.vmap(lambda b, m: spearman(s[0], b, m))(s, ms)

    return (jax.vmap(per_seed) if scores.ndim == 3 else per_seed)(scores, round_masks)


def pruning_thresholds(scores, round_masks):
    """The cut of every round but the last: the smallest score among the weights kept for the next round.

    ``scores`` (rounds, weights) of a run's trained networks; ``round_masks`` (rounds, weights) the masks they trained
    with. Returns (rounds − 1,).
    """
    scores, round_masks = jnp.asarray(scores), jnp.asarray(round_masks)
    return jnp.min(jnp.where(round_masks[1:], scores[:-1], jnp.inf), axis=-1)


def layer_statistics(params, mask) -> pd.DataFrame:
    """Per prunable layer: weights, kept fraction, and mean |W| and mean W over the kept weights."""
    rows = []
    for (path, w), m in zip(jax.tree_util.tree_flatten_with_path(params)[0], jax.tree_util.tree_leaves(mask)):
        if not masks.is_prunable_path(path):
            continue
        w, m = np.asarray(w), np.asarray(m, bool)
        kept = w[m]
        rows.append({"layer": "/".join(str(getattr(k, "key", k)) for k in path[1:-1]), "weights": w.size,
                     "kept_fraction": m.mean(), "mean_abs": np.abs(kept).mean() if kept.size else np.nan,
                     "mean": kept.mean() if kept.size else np.nan})
    return pd.DataFrame(rows)


def ticket_overlap(run_a, run_b) -> pd.DataFrame:
    """Per seed and round of two runs from the same θ0 (two baselines of one grid): the share of run a's kept weights
    that run b keeps too (``overlap``), beside the share of weights left (``weights_remaining``), which is what two
    independent random masks would share on average. Both runs' rounds must keep their masks.

    The per-round agreement (:mod:`lottery_kit.diagnostics`) says how differently two rules prune *one* outcome; this
    says how different the tickets the two runs reach are, after every round's training has amplified the
    differences of the earlier rounds.
    """
    seeds, rounds = (load_config(run_a)["config"][k] for k in ("seeds", "rounds"))
    rows = []
    for seed in seeds:
        for round_ in range(1, rounds + 1):
            try:
                a, b = (np.asarray(flat(load_round(run, seed, round_)["mask"])) for run in (run_a, run_b))
            except (FileNotFoundError, KeyError):   # a round one run has not reached (yet)
                break
            rows.append({"seed": seed, "round": round_, "weights_remaining": a.mean(),
                         "overlap": (a & b).sum() / a.sum()})
    return pd.DataFrame(rows, columns=["seed", "round", "weights_remaining", "overlap"])
