"""The paper's figures with seaborn: the IMP plot and the min-max normalised aggregate across tasks."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: The paper's x ticks: % of weights remaining after rounds 1, 6, 11, 16, 21 at keep ratio 0.8.
PAPER_TICKS = (100.0, 32.77, 10.74, 3.52, 1.44)
#: Axis labels for the results table's score columns.
PERF_LABELS = {"best_perf": "test score of the validation-best mean", "final_perf": "test score of the final mean",
               "val_curve_mean": "mean validation score over training"}
#: The paper's colours: ES tickets by rule, ES against GD, and the transfer panels.
PAPER_COLOURS = {"sig2noise": "black", "ES-SNR": "black", "final-ticket": "red", "ES-IMP": "red", "ES": "red",
                 "random-reinit": "#bcbd22", "ES-Random": "#bcbd22", "GD": "green", "transferred": "blue",
                 "own ticket": "red", "random re-init": "#bcbd22"}


def _with_percent(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(percent_remaining=100.0 * df["weights_remaining"])


def summarise(df: pd.DataFrame, perf: str = "best_perf", by=("baseline",)) -> pd.DataFrame:
    """Mean and standard error over seeds per (group, weights remaining)."""
    keys = [*by, "weights_remaining"]
    g = df.groupby(keys)[perf]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["sem"] = out["std"].fillna(0.0) / np.sqrt(out["n"])
    return out


def imp_plot(df: pd.DataFrame, perf: str = "best_perf", hue: str = "baseline", ax=None, title: str | None = None,
             palette: dict | None = None, legend: bool = True):
    """Performance against % weights remaining (log x, reversed), mean ± standard error over seeds.

    Colours: ``palette`` where it names a group, else the paper's (:data:`PAPER_COLOURS`), else a colour-blind palette.
    """
    ax = ax or plt.subplots(figsize=(5.5, 3.8))[1]
    summary = _with_percent(summarise(df, perf, by=(hue,)))
    groups = list(summary[hue].unique())
    fallback = dict(zip(groups, sns.color_palette("colorblind", len(groups))))
    palette = {g: (palette or {}).get(g) or PAPER_COLOURS.get(g) or fallback[g] for g in groups}
    for name, part in summary.groupby(hue, sort=False):
        part = part.sort_values("percent_remaining")
        ax.plot(part["percent_remaining"], part["mean"], marker="o", ms=3.5, label=name, color=palette[name])
        ax.fill_between(part["percent_remaining"], part["mean"] - part["sem"], part["mean"] + part["sem"],
                        alpha=0.25, color=palette[name], lw=0)
    percent_axis(ax, summary["percent_remaining"])
    ax.set_ylabel(PERF_LABELS.get(perf, perf.replace("_", " ")))
    if title is None and "task" in df:
        title = ", ".join(map(str, df["task"].unique()))
    ax.set_title(title)
    if legend:
        ax.legend(frameon=False, fontsize=8)
    sns.despine(ax=ax)
    return ax


def percent_axis(ax, percents) -> None:
    """A reversed log x axis of % weights remaining with the paper's ticks (short schedules: their own levels)."""
    levels = sorted(pd.Series(percents).round(2).unique(), reverse=True)
    ax.set_xscale("log")
    ticks = [t for t in PAPER_TICKS if t >= min(levels) * 0.999] if len(levels) > 8 else levels
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel("weights remaining [%]")


def normalise_per_task(df: pd.DataFrame, perf: str = "best_perf") -> pd.DataFrame:
    """Min-max normalise ``perf`` within each task over all its rows (joint range of every method)."""
    lo = df.groupby("task")[perf].transform("min")
    hi = df.groupby("task")[perf].transform("max")
    return df.assign(**{perf: (df[perf] - lo) / (hi - lo).replace(0, np.nan)})


def nominal_remaining(df: pd.DataFrame) -> pd.Series:
    """Each row's sparsity level as the schedule names it, shared by every task of a round: ``keep_ratio **
    (round - 1)`` where rows carry ``keep_ratio``, else the round's mean exact fraction (exact fractions differ
    between networks by a rounded weight or two, which would split one level of an aggregate into several)."""
    if "keep_ratio" in df and df["keep_ratio"].notna().all():
        return df["keep_ratio"].astype(float) ** (df["round"] - 1)
    return df.groupby("round")["weights_remaining"].transform("mean")


def aggregate_plot(df: pd.DataFrame, perf: str = "best_perf", hue: str = "baseline", ax=None):
    """The paper's aggregate: per-task min-max normalisation, then the mean over tasks (and seeds) at each
    nominal sparsity level (:func:`nominal_remaining`)."""
    norm = normalise_per_task(df, perf).assign(weights_remaining=nominal_remaining(df))
    per_task = norm.groupby([hue, "task", "seed", "weights_remaining"])[perf].mean().reset_index()
    return imp_plot(per_task, perf=perf, hue=hue, ax=ax, title=f"normalised over {per_task['task'].nunique()} tasks")


def save(fig_or_ax, path) -> None:
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def transfer_panel(results_dir, transfer_grid: str, source_strategy: str, target_strategy: str, target_task: str,
                   own_grid: str | None = None) -> pd.DataFrame:
    """The rows of a transfer panel, labelled in ``method``: the transferred tickets ("transferred") and, from the
    target's own IMP grid, its magnitude tickets ("own ticket") and random masks ("random re-init")."""
    from .grid import collect

    root = Path(results_dir)
    moved = collect(root / transfer_grid)
    moved = moved[(moved["source_strategy"] == source_strategy) & (moved["strategy"] == target_strategy)
                  & (moved["task"] == target_task)]
    parts = [moved.assign(method="transferred")]
    if own_grid and (root / own_grid).is_dir():
        own = collect(root / own_grid)
        own = own[(own["strategy"] == target_strategy) & (own["task"] == target_task)]
        parts += [own[own["baseline"] == "final-ticket"].assign(method="own ticket"),
                  own[own["baseline"] == "random-reinit"].assign(method="random re-init")]
    return pd.concat(parts, ignore_index=True)


def panels_figure(panels, perf: str = "best_perf", ylabel: str = "test accuracy", hue: str = "method"):
    """One IMP plot per ``(title, rows)`` panel, side by side; returns the figure and a table of mean scores per
    panel, round and ``hue``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (title, frame) in zip(axes[0], panels):
        imp_plot(frame, perf=perf, hue=hue, ax=ax, title=title)
        ax.set_ylabel(ylabel)
    table = pd.concat([frame.assign(panel=title) for title, frame in panels]).pivot_table(
        index=["panel", "round"], columns=hue, values=perf, aggfunc="mean")
    return fig, table
