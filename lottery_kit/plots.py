"""The paper's figures with seaborn: the IMP plot and the min-max normalised aggregate across tasks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: The paper's x ticks: % of weights remaining after rounds 1, 6, 11, 16, 21 at keep ratio 0.8.
PAPER_TICKS = (100.0, 32.77, 10.74, 3.52, 1.44)
#: Axis labels for the results table's score columns.
PERF_LABELS = {"best_perf": "test score of the validation-best mean", "final_perf": "test score of the final mean"}


def _with_percent(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(percent_remaining=100.0 * df["weights_remaining"])


def summarise(df: pd.DataFrame, perf: str = "best_perf", by=("baseline",)) -> pd.DataFrame:
    """Mean and standard error over seeds per (group, weights remaining)."""
    keys = [*by, "weights_remaining"]
    g = df.groupby(keys)[perf]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["sem"] = out["std"].fillna(0.0) / np.sqrt(out["n"])
    return out


def imp_plot(df: pd.DataFrame, perf: str = "best_perf", hue: str = "baseline", ax=None, title: str | None = None):
    """Performance against % weights remaining (log x, reversed), mean ± standard error over seeds."""
    ax = ax or plt.subplots(figsize=(5.5, 3.8))[1]
    summary = _with_percent(summarise(df, perf, by=(hue,)))
    palette = dict(zip(summary[hue].unique(), sns.color_palette("colorblind", summary[hue].nunique())))
    for name, part in summary.groupby(hue, sort=False):
        part = part.sort_values("percent_remaining")
        ax.plot(part["percent_remaining"], part["mean"], marker="o", ms=3.5, label=name, color=palette[name])
        ax.fill_between(part["percent_remaining"], part["mean"] - part["sem"], part["mean"] + part["sem"],
                        alpha=0.25, color=palette[name], lw=0)
    ax.set_xscale("log")
    levels = sorted(summary["percent_remaining"].round(2).unique(), reverse=True)
    # the paper's schedule (21 levels at keep ratio 0.8) gets the paper's ticks; short schedules their own levels
    ticks = [t for t in PAPER_TICKS if t >= min(levels) * 0.999] if len(levels) > 8 else levels
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.set_xlabel("% weights remaining")
    ax.set_ylabel(PERF_LABELS.get(perf, perf.replace("_", " ")))
    if title is None and "task" in df:
        title = ", ".join(map(str, df["task"].unique()))
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    sns.despine(ax=ax)
    return ax


def normalise_per_task(df: pd.DataFrame, perf: str = "best_perf") -> pd.DataFrame:
    """Min-max normalise ``perf`` within each task over all its rows (joint range of every method)."""
    lo = df.groupby("task")[perf].transform("min")
    hi = df.groupby("task")[perf].transform("max")
    return df.assign(**{perf: (df[perf] - lo) / (hi - lo).replace(0, np.nan)})


def aggregate_plot(df: pd.DataFrame, perf: str = "best_perf", hue: str = "baseline", ax=None):
    """The paper's aggregate: per-task min-max normalisation, then the mean over tasks (and seeds)."""
    norm = normalise_per_task(df, perf)
    per_task = norm.groupby([hue, "task", "seed", "weights_remaining"])[perf].mean().reset_index()
    return imp_plot(per_task, perf=perf, hue=hue, ax=ax, title=f"normalised over {per_task['task'].nunique()} tasks")


def save(fig_or_ax, path) -> None:
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
