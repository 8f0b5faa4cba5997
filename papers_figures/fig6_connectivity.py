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
# # Figure 6: linear mode connectivity and flatness of ES and GD solutions
#
# The paper states that ES optima are "diverse and flat" and, unlike GD's, do not stay linearly connected across
# sparsity levels and runs; its connectivity code was never published. Here every claim is measured on stored
# networks of Fashion-MNIST (SNES and Adam, magnitude IMP, 3 seeds):
#
# - **the same ticket trained twice**: each seed's ticket of round r, trained in its IMP run and again from the same
#   (mask, θ0) with other training noise (the `fmnist_transfer` grid's SNES→SNES and Adam→Adam cells);
# - **neighbouring sparsity levels**: one seed's networks of rounds r and r+1;
# - **ES against GD**: the dense networks both trained from the same θ0 (round 1).
#
# For each pair the test accuracy along (1−α)·θa + α·θb is scored for 11 values of α in one call, and the barrier is
# the largest drop below the straight line between the end points. Flatness: the accuracy of the kept weights
# perturbed by Gaussian noise of growing standard deviation (8 draws per radius). For speed the scores use the first
# `images` test images.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"
images = 2000                   # test images scored per network
rounds = [1, 6, 11]             # the rounds whose tickets were trained twice
neighbours = [[1, 2], [5, 6], [10, 11]]
radii = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2]

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import lottery_kit as lk
from lottery_kit import analysis
from lottery_kit.grid import cell_path, cells

root = Path(results_dir)
task = analysis.subset(lk.make_task("fmnist"), images)
runs = {"ES": cell_path(root / "fmnist_es", baseline="final-ticket"),
        "GD": cell_path(root / "fmnist_adam", baseline="final-ticket")}
again = cells(root / "fmnist_transfer")
again = {m: again[(again["target_task"] == "fmnist") & (again["target_strategy"] == s)
                  & again["source_dir"].str.contains(src)]["path"].iloc[0]
         for m, s, src in (("ES", "SNES", "fmnist_es"), ("GD", "Adam", "fmnist_adam"))}
seeds = lk.load_config(runs["ES"])["config"]["seeds"]


def weights(run, seed, round_):
    return lk.load_round(run, seed, round_)["final_mean"]


pairs, labels = [], []
for method in ("ES", "GD"):
    for r in rounds:
        for s in seeds:
            pairs.append((weights(runs[method], s, r), weights(again[method], s, r)))
            labels.append({"method": method, "comparison": "same ticket, trained twice", "round": r, "seed": s})
    for r, q in neighbours:
        for s in seeds:
            pairs.append((weights(runs[method], s, r), weights(runs[method], s, q)))
            labels.append({"method": method, "comparison": "neighbouring sparsity", "round": r, "seed": s})
for s in seeds:
    pairs.append((weights(runs["ES"], s, 1), weights(runs["GD"], s, 1)))
    labels.append({"method": "ES vs GD", "comparison": "ES vs GD (same θ0)", "round": 1, "seed": s})
stack = lambda trees: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)  # noqa: E731
scores, barriers = analysis.linear_paths(task, stack([a for a, _ in pairs]), stack([b for _, b in pairs]))
paths = pd.DataFrame(labels).assign(barrier=np.asarray(barriers))
summary = paths.groupby(["comparison", "method", "round"])["barrier"].agg(["mean", "std"]).round(3)
summary

# %%
flat_runs = [(m, r, s) for m in ("ES", "GD") for r in rounds for s in seeds]
arts = [lk.load_round(runs[m], s, r) for m, r, s in flat_runs]
curves = analysis.perturbation_curves(task, stack([a["final_mean"] for a in arts]), stack([a["mask"] for a in arts]),
                                      jax.random.key(0), radii=radii)
flatness = pd.DataFrame([{"method": m, "round": r, "seed": s, "radius": rad, "accuracy": float(curves[i, j])}
                         for i, (m, r, s) in enumerate(flat_runs) for j, rad in enumerate(radii)])
flatness.pivot_table(index=["method", "round"], columns="radius", values="accuracy", aggfunc="mean").round(3)

# %%
alphas = np.asarray(analysis.connectivity.ALPHAS)
colours = {"ES": "red", "GD": "green", "ES vs GD": "purple"}
fig, axes = plt.subplots(1, 4, figsize=(19, 3.8))
for ax, comparison in zip(axes, ["same ticket, trained twice", "neighbouring sparsity", "ES vs GD (same θ0)"]):
    for (method, r), rows in paths[paths["comparison"] == comparison].groupby(["method", "round"]):
        mean = np.asarray(scores)[rows.index].mean(0)
        style = {1: "-", 5: "--", 6: "--", 10: ":", 11: ":"}.get(r, "-")
        ax.plot(alphas, mean, style, color=colours[method], label=f"{method}, round {r}")
    ax.set_title(comparison)
    ax.set_xlabel("α (0: first network, 1: second)")
    ax.set_ylabel("test accuracy")
    ax.legend(frameon=False, fontsize=7)
for (method, r), rows in flatness.groupby(["method", "round"]):
    mean = rows.groupby("radius")["accuracy"].mean()
    axes[3].plot(mean.index, mean.values, {1: "-", 6: "--", 11: ":"}[r], color=colours[method], marker="o", ms=3,
                 label=f"{method}, round {r}")
axes[3].set_xscale("symlog", linthresh=0.01)
axes[3].set_title("flatness: kept weights perturbed")
axes[3].set_xlabel("perturbation std")
axes[3].set_ylabel("test accuracy")
axes[3].legend(frameon=False, fontsize=7)
for ax in axes:
    ax.spines[["top", "right"]].set_visible(False)
Path(figure_dir).mkdir(exist_ok=True)
fig.tight_layout()
fig.savefig(Path(figure_dir) / "fig6_connectivity.png", dpi=130)
plt.show()
