"""Search-distribution diagnostics of one round: can SNR pruning differ from magnitude pruning at all?

SNR pruning ranks weights by |μ|/σ, magnitude pruning by |μ|. Where σ has barely adapted from its uniform start,
|μ|/σ is |μ| divided by nearly a constant and the two rules keep the same weights, so comparing them cannot
separate them. These numbers say how far that is from true, per seed and round, over the round's kept kernel
weights (``masks.flat_prunable`` order):

- ``sigma_cv``: σ's coefficient of variation (std / mean); 0 when σ is uniform;
- ``sigma_q95_q05``: σ's 95th over its 5th percentile; 1 when uniform;
- ``mean_travel``: ‖μ_T − θ0‖ / ‖θ0‖, how far the search mean moved from the round's start;
- ``snr_magnitude_agreement``: of the ``n_keep`` weights the next round keeps, the share that both rules would
  keep, from this round's outcome whatever the baseline. 1.0: the rules cannot differ.

Trainers without a search distribution (gradient descent) give NaN for all four.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from . import masks
from .pruning import snr_scores
from .store import load_config, load_round

COLUMNS = ("sigma_cv", "sigma_q95_q05", "mean_travel", "snr_magnitude_agreement")
#: Above this agreement a notebook says that SNR and magnitude pruning keep the same weights.
SAME_WEIGHTS = 0.95


def agreement(scores_a, scores_b, mask, n_keep):
    """Share of the ``n_keep`` entries that both scores keep (global top-k among ``mask``'s kept entries)."""
    kept, _ = masks.flat_prunable(mask)
    a, _ = masks.flat_prunable(scores_a)
    b, _ = masks.flat_prunable(scores_b)
    return jnp.sum(masks.top_entries(a, kept, n_keep) & masks.top_entries(b, kept, n_keep)) / n_keep


@jax.jit
def _stats(mask, mean, std, init, n_keep):
    """The four diagnostics of one network; ``init`` None leaves the travel NaN (slimmed artifacts keep no θ0)."""
    kept, _ = masks.flat_prunable(mask)
    sd, _ = masks.flat_prunable(std)
    mu, _ = masks.flat_prunable(mean)
    count = jnp.sum(kept)
    sigma_mean = jnp.sum(jnp.where(kept, sd, 0.0)) / count
    sigma_sd = jnp.sqrt(jnp.sum(jnp.where(kept, (sd - sigma_mean) ** 2, 0.0)) / count)
    q05, q95 = jnp.nanquantile(jnp.where(kept, sd, jnp.nan), jnp.array([0.05, 0.95]))
    travel = jnp.nan
    if init is not None:
        theta0, _ = masks.flat_prunable(init)
        travel = jnp.linalg.norm(jnp.where(kept, mu - theta0, 0.0)) / jnp.linalg.norm(jnp.where(kept, theta0, 0.0))
    magnitude = jax.tree_util.tree_map(jnp.abs, mean)
    return {"sigma_cv": sigma_sd / sigma_mean, "sigma_q95_q05": q95 / q05, "mean_travel": travel,
            "snr_magnitude_agreement": agreement(snr_scores(mean, std), magnitude, mask, n_keep)}


def search_distribution(outcome, n_keep: int, signal: str = "final") -> dict[str, np.ndarray]:
    """The four diagnostics per seed for a seed-stacked ``outcome``; ``n_keep``: the next round's kept count."""
    seeds = jax.tree_util.tree_leaves(outcome.init)[0].shape[0]
    if outcome.final_std is None:
        return {c: np.full(seeds, np.nan) for c in COLUMNS}
    values = jax.vmap(lambda o: _stats(o.mask, o.mean(signal), o.final_std, o.init, n_keep))(outcome)
    return {c: np.asarray(values[c], float) for c in COLUMNS}


def of_run(run_dir, signal: str = "final") -> pd.DataFrame:
    """Per (seed, round) diagnostics of a stored run: its results' columns where it has them, else computed from
    its round artifacts (results sets written before the columns existed); NaN where neither has σ."""
    rows = pd.read_parquet(Path(run_dir) / "results.parquet")
    if set(COLUMNS) <= set(rows) and rows[list(COLUMNS)].notna().any().any():
        return rows
    config = load_config(run_dir)["config"]
    n_prunable = int(round(rows["kept_weights"].iloc[0] / rows["weights_remaining"].iloc[0]))
    values = []
    for seed, round_ in zip(rows["seed"], rows["round"]):
        art = load_round(run_dir, int(seed), int(round_))
        n_keep = masks.target_kept(n_prunable, config["keep_ratio"], int(round_) + 1)
        stats = ({c: np.nan for c in COLUMNS} if art.get("final_std") is None else
                 _stats(art["mask"], art["best_mean" if signal == "best" else "final_mean"], art["final_std"],
                        art.get("init"), n_keep))
        values.append({c: float(v) for c, v in stats.items()})
    return rows.drop(columns=[c for c in COLUMNS if c in rows]).join(pd.DataFrame(values, index=rows.index))


def same_weights_note(rows) -> str | None:
    """A plain sentence where the agreement exceeds :data:`SAME_WEIGHTS` in any ES round of ``rows``, else None."""
    values = rows["snr_magnitude_agreement"].dropna() if "snr_magnitude_agreement" in rows else []
    if len(values) == 0 or values.max() <= SAME_WEIGHTS:
        return None
    high = rows.loc[rows["snr_magnitude_agreement"] > SAME_WEIGHTS, "round"].unique()
    return (f"In round(s) {', '.join(map(str, sorted(high)))} SNR and magnitude pruning would keep more than "
            f"{SAME_WEIGHTS:.0%} of the same weights (agreement up to {values.max():.3f}; σ's coefficient of "
            f"variation {rows['sigma_cv'].max():.3f} at most). At this budget σ has barely adapted, so a comparison "
            "of the two rules cannot separate them: each decision of SNR pruning is magnitude pruning with a few "
            "weights swapped, and what the runs' tickets then differ by comes mostly from training noise (measure it "
            "with a magnitude run at training_replicate=1).")


__all__ = ["COLUMNS", "SAME_WEIGHTS", "agreement", "of_run", "same_weights_note", "search_distribution"]
