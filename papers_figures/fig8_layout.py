# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 8: where the kept weights go, and where the survivors restart
#
# Magnitude IMP on Fashion-MNIST (3 seeds, 11 rounds at keep ratio 0.8), trained by SNES (population 32, 200
# generations a round) and by Adam (2 epochs a round), with the pruning rule taken apart
# (docs/report.md, "Pruning: score × distribution × rewind point"):
#
# - **distribution**: the paper's `global` top-k against `layerwise` (the same fraction of every kernel) and `erk`
#   (Erdős–Rényi-Kernel densities);
# - **rewind point**: θ0 (the paper's) against late rewinding to round 1's weights after k generations / steps;
# - **score** (Adam only): `iterate-snr`, |mean|/std of Adam's iterates over a round's last epoch, against magnitude.
#
# Top row: test score against weights remaining, mean ± standard error over seeds. Bottom row: each variant minus the
# paper's rule (global, θ0, magnitude), paired by seed (the runs of a seed share θ0 and their dense round), with a
# Student-t 95 % interval of the mean difference (the tables give the bootstrap interval too, which with 3 seeds is
# too narrow). With 3 seeds a two-sided Wilcoxon test cannot go below p = 0.25, so read a difference as real only
# where it keeps its sign over rounds and seeds. The ES reference is `fmnist_es`'s
# magnitude run (the same settings, so the same run); the Adam grid has its own, which must equal `fmnist_adam`'s.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"
perf = "best_perf"
es_reference = "fmnist_es"          # its final-ticket cell is the ES layout grid's global θ0 run
es_grid = "fmnist_layout_es"
gd_grid = "fmnist_layout_adam"
gd_reference = "fmnist_adam"        # its final-ticket cell must equal the Adam layout grid's global θ0 cell

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

import lottery_kit as lk
from lottery_kit import analysis, plots

PAPER_RULE = "global, θ0"


def variant(row) -> str:
    """The part of the rule a row's run changes from the paper's (global top-k of magnitudes, rewound to θ0)."""
    rewind = row.get("rewind_step")
    rewind = 0 if pd.isna(rewind) else int(rewind)
    distribution = row.get("distribution")
    distribution = distribution if isinstance(distribution, str) else "global"
    if row["baseline"] != "final-ticket":
        return f"{row['baseline']} ({distribution}, θ0)"
    return f"global, θ{rewind}" if rewind else f"{distribution}, θ0"


def load(grid: str, reference: str | None = None) -> pd.DataFrame:
    rows = lk.collect(Path(results_dir) / grid)
    if reference is not None:
        ref = lk.collect(Path(results_dir) / reference)
        rows = pd.concat([ref[ref["baseline"] == "final-ticket"], rows], ignore_index=True)
    return rows.assign(variant=rows.apply(variant, axis=1), method="SNES" if reference else "Adam")


results = pd.concat([load(es_grid, es_reference), load(gd_grid)], ignore_index=True)
results.pivot_table(index="round", columns=["method", "variant"], values=perf, aggfunc="mean").round(3)

# %% [markdown]
# The Adam layout grid's global θ0 cell repeats `fmnist_adam`'s magnitude run: the two must give the same scores.

# %%
own = results[(results["method"] == "Adam") & (results["variant"] == PAPER_RULE)]
ref = lk.collect(Path(results_dir) / gd_reference)
ref = ref[ref["baseline"] == "final-ticket"]
check = own.merge(ref, on=["seed", "round"], suffixes=("", "_reference"))
largest = float((check[perf] - check[f"{perf}_reference"]).abs().max())
print(f"{len(check)} rows compared; largest |difference| of {perf}: {largest:.2e}")

# %% [markdown]
# Each variant minus the paper's rule, paired by seed, per round.

# %%
differences = []
for method, part in results.groupby("method"):
    for name in part["variant"].unique():
        if name == PAPER_RULE:
            continue
        pair = part[part["variant"].isin([name, PAPER_RULE])].assign(baseline=lambda d: d["variant"],
                                                                     task=method)
        d = analysis.paired_difference(pair, perf=perf, better=name, than=PAPER_RULE)
        differences.append(d.rename(columns={"task": "method"}).assign(variant=name))
differences = pd.concat(differences, ignore_index=True)
last = differences.loc[differences.groupby(["method", "variant"])["round"].idxmax()]
last[["method", "variant", "round", "weights_remaining", "mean_difference", "ci_low", "ci_high", "t_low", "t_high",
      "seeds_same_sign", "wilcoxon_p"]].round(4)

# %% [markdown]
# Over the pruned rounds (2–11): the mean difference and in how many rounds all seeds agree on its sign.
#
# Read late rewinding with its confound in mind: a ticket rewound to θ_k restarts with k generations (steps) of round
# 1's training already in its weights and then trains for the full round, so it has had k more than a θ0 ticket.
# With 200 generations a round, k = 50 is a quarter of a round of ES training; with 858 Adam steps, k = 400 is
# almost half an epoch. A gain of late rewinding over θ0 is a gain of "ticket + head start" over "ticket".

# %%
pruned = differences[differences["round"] > 1].assign(
    better=lambda d: d["mean_difference"] > 0, all_seeds_agree=lambda d: d["seeds_same_sign"] == d["seeds"])
summary = pruned.groupby(["method", "variant"]).agg(
    mean_difference=("mean_difference", "mean"), rounds_better=("better", "sum"),
    rounds_all_seeds_agree=("all_seeds_agree", "sum"), rounds=("round", "count")).round(4)
summary

# %%
panels = [("SNES", "distribution"), ("SNES", "rewind"), ("Adam", "distribution"), ("Adam", "rewind and score")]


def in_panel(names, kind):
    if kind == "distribution":
        return names.isin([f"{d}, θ0" for d in ("global", "layerwise", "erk")])
    return names.str.startswith("global, ") | names.str.contains("(", regex=False)


names = sorted(results["variant"].unique(), key=lambda n: (n != PAPER_RULE, n))
others = [c for i, c in enumerate(sns.color_palette("tab10")) if i != 3]    # tab10's red is the paper's rule's
palette = {PAPER_RULE: "red", **{name: others[i % len(others)] for i, name in enumerate(names[1:])}}
fig, axes = plt.subplots(2, len(panels), figsize=(4.6 * len(panels), 7.4), squeeze=False)
for col, (method, kind) in enumerate(panels):
    frame = results[(results["method"] == method) & in_panel(results["variant"], kind)]
    plots.imp_plot(frame, perf=perf, hue="variant", ax=axes[0, col], title=f"{method}: {kind}", palette=palette)
    ax = axes[1, col]
    diff = differences[(differences["method"] == method) & differences["variant"].isin(frame["variant"].unique())]
    for name, part in diff.groupby("variant"):
        x = 100 * part["weights_remaining"]
        ax.plot(x, part["mean_difference"], marker="o", ms=3, color=palette[name], label=name)
        ax.fill_between(x, part["t_low"], part["t_high"], color=palette[name], alpha=0.2, lw=0)
    ax.axhline(0, color="red", lw=0.8)
    plots.percent_axis(ax, 100 * diff["weights_remaining"])
    ax.set_ylabel(f"minus {PAPER_RULE}, paired by seed")
    ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig8_layout.png")
plt.show()
