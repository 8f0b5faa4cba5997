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


def normalised_gain(results: pd.DataFrame, perf: str = "best_perf", better: str = "sig2noise",
                    than: str = "final-ticket") -> pd.DataFrame:
    """Per task and round: the mean gain of ``better`` over ``than``, as a fraction of the task's joint score range.

    The range is the task's min-max over both methods, all rounds and seeds (the paper's normalisation).
    """
    both = results[results["baseline"].isin([better, than])]
    span = both.groupby("task")[perf].agg(lambda s: s.max() - s.min()).replace(0.0, np.nan)
    means = both.groupby(["task", "round", "weights_remaining", "baseline"])[perf].mean().unstack("baseline")
    gain = (means[better] - means[than]).rename("gain").reset_index()
    gain["normalised_gain"] = gain["gain"] / gain["task"].map(span)
    return gain


def gain_against_agreement(results: pd.DataFrame, diagnostics_rows: pd.DataFrame,
                           perf: str = "best_perf") -> pd.DataFrame:
    """Per task and round r: SNR's :func:`normalised_gain` over magnitude IMP beside the agreement of the two rules
    on round r−1's outcome of the SNR runs (``snr_magnitude_agreement`` of ``diagnostics_rows``, mean over seeds):
    round r's tickets were chosen from that outcome. Rounds that lack either side are left out."""
    gain = normalised_gain(results, perf=perf)
    chosen_by = (diagnostics_rows.groupby(["task", "round"])["snr_magnitude_agreement"].mean().reset_index()
                 .assign(round=lambda d: d["round"] + 1))
    return gain.merge(chosen_by, on=["task", "round"]).dropna(subset=["normalised_gain", "snr_magnitude_agreement"])


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


def paired_statistics(d, rng: np.random.Generator | None = None, n_boot: int = 10_000, level: float = 0.95) -> dict:
    """Mean of the paired differences ``d`` (one per seed), its percentile-bootstrap interval and its Student-t
    interval, the two-sided Wilcoxon signed-rank p (1.0 when every difference is zero), how many seeds share the
    mean's sign and how many tie exactly (``seeds_tied``: where every seed ties, e.g. both runs at a task's score cap
    such as CartPole's 500 steps, the comparison cannot separate the two, whatever it is). With a handful of seeds
    the bootstrap interval is too narrow (3 seeds give it 10 distinct resamples to draw from); the t interval is the
    honest one there."""
    from scipy.stats import t, wilcoxon

    d, rng = np.asarray(d, float), rng if rng is not None else np.random.default_rng(0)
    boot = rng.choice(d, size=(n_boot, d.size), replace=True).mean(axis=1)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    mean = d.mean()
    half = t.ppf((1 + level) / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan
    return {"seeds": d.size, "mean_difference": mean, "ci_low": low, "ci_high": high,
            "t_low": mean - half, "t_high": mean + half,
            "wilcoxon_p": 1.0 if np.all(d == 0) else float(wilcoxon(d, zero_method="zsplit").pvalue),
            "seeds_same_sign": int(np.sum(np.sign(d) * np.sign(mean) > 0)), "seeds_tied": int(np.sum(d == 0))}


def _paired_wide(results: pd.DataFrame, perf: str, better: str, than: str):
    """The two baselines' scores side by side per (task, round, seed), with the task's joint score range."""
    both = results[results["baseline"].isin([better, than])]
    span = both.groupby("task")[perf].agg(lambda s: s.max() - s.min()).replace(0.0, np.nan)
    wide = both.pivot_table(index=["task", "round", "seed"], columns="baseline", values=perf).dropna()
    return both, wide, span


def paired_difference(results: pd.DataFrame, perf: str = "best_perf", better: str = "sig2noise",
                      than: str = "final-ticket", n_boot: int = 10_000, level: float = 0.95,
                      seed: int = 0) -> pd.DataFrame:
    """Per task and round: ``better`` − ``than`` paired by seed (both start from the seed's dense θ0), with a
    percentile-bootstrap confidence interval of the mean difference over seeds and a two-sided Wilcoxon
    signed-rank p-value (exact for small samples; 1.0 when every difference is zero).

    Columns: task, round, weights_remaining, seeds, mean_difference, ci_low, ci_high (bootstrap), t_low, t_high
    (Student's t over seeds: with 3 to 5 seeds the bootstrap interval is too narrow, the t interval is not), wilcoxon_p,
    ``seeds_same_sign`` (how many seeds' differences have the mean's sign; a zero difference counts for neither:
    with few seeds, where no test can reach a small p, this says whether the seeds agree at all), ``seeds_tied``
    (seeds whose two scores are equal), and ``normalised_difference`` (the mean over the task's joint score range,
    as :func:`normalised_gain`).
    """
    both, wide, span = _paired_wide(results, perf, better, than)
    remaining = both.groupby(["task", "round"])["weights_remaining"].mean()
    rng = np.random.default_rng(seed)
    rows = []
    for (task, round_), part in wide.groupby(level=["task", "round"]):
        stats = paired_statistics((part[better] - part[than]).to_numpy(), rng, n_boot, level)
        rows.append({"task": task, "round": round_, "weights_remaining": remaining[(task, round_)], **stats,
                     "normalised_difference": stats["mean_difference"] / span[task]})
    return pd.DataFrame(rows)


def pooled_difference(results: pd.DataFrame, first_round: int, last_round: int, perf: str = "best_perf",
                      better: str = "sig2noise", than: str = "final-ticket", n_boot: int = 10_000,
                      level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per task: ``better`` − ``than`` averaged over rounds ``first_round`` … ``last_round`` within each seed, then
    compared over seeds as :func:`paired_difference` does (bootstrap and t intervals, Wilcoxon p, seeds of one sign).

    A seed's rounds share one lineage, so they are not independent samples; their mean is one number per seed, and
    the seeds are. Averaging first takes out the round-to-round training noise that makes a single round's
    difference so wide. Only the rounds of the range that every seed has finished on both sides are used:
    ``rounds`` says which, ``weights_remaining`` is the share left at the last of them.
    """
    both, wide, span = _paired_wide(results, perf, better, than)
    wide = wide[wide.index.get_level_values("round").to_series().between(first_round, last_round).to_numpy()]
    rng = np.random.default_rng(seed)
    rows = []
    for task, part in wide.groupby(level="task"):
        per_round = part.groupby(level="round").size()
        complete = per_round[per_round == per_round.max()].index
        part = part[part.index.get_level_values("round").isin(complete)]
        d = (part[better] - part[than]).groupby(level="seed").mean().to_numpy()
        stats = paired_statistics(d, rng, n_boot, level)
        left = both[(both["task"] == task) & (both["round"] == complete.max())]["weights_remaining"].mean()
        rows.append({"task": task, "rounds": f"{complete.min()}-{complete.max()}", "weights_remaining": left,
                     **stats, "normalised_difference": stats["mean_difference"] / span[task]})
    return pd.DataFrame(rows)


def trainable_until(results: pd.DataFrame, perf: str = "best_perf", level: float = 0.5) -> pd.DataFrame:
    """Per task, baseline and seed: the last round whose ticket still trains, i.e. before its score first falls below
    ``level`` of the way from the task's worst score (over ``results``) to its dense score (round 1, mean over seeds).

    Columns: task, baseline, seed, ``round`` (that last round), ``weights_remaining`` there, and ``censored`` (True
    when the run never fell below: it trains to its last finished round, so the true round may lie beyond).
    A paired difference of ``round`` between two rules says how many rounds (of pruning at the keep ratio) longer
    one rule's tickets stay trainable; unlike a score difference, it does not depend on how deep a collapse goes.
    """
    rows = []
    for task, part in results.groupby("task"):
        low, high = part[perf].min(), part.loc[part["round"] == 1, perf].mean()
        for (baseline, seed), run in part.sort_values("round").groupby(["baseline", "seed"]):
            failed = run[(run["round"] > 1) & ((run[perf] - low) < level * (high - low))]
            last = int(failed["round"].iloc[0]) - 1 if len(failed) else int(run["round"].max())
            rows.append({"task": task, "baseline": baseline, "seed": seed, "round": last,
                         "weights_remaining": float(run.loc[run["round"] == last, "weights_remaining"].iloc[0]),
                         "censored": not len(failed)})
    return pd.DataFrame(rows)

