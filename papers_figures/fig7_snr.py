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
# # Figure 7: how SNR pruning differs from magnitude pruning
#
# 1. **Normalised gain** of SNR tickets over magnitude-IMP tickets per round: the difference of their mean test
#    scores as a fraction of the task's joint score range.
# 2. **Rank stability**: Spearman's correlation between round 1 and each later round of the score each rule prunes by
#    (|μ|/σ for SNR, |μ| for magnitude), over the weights that survive to that round, mean over seeds.
# 3. **Pruning threshold**: the cut of each round (the smallest score kept for the next round), relative to round 1's.
# 4. **Per-layer statistics** of magnitude tickets, ES (SNES) against GD (Adam) on Fashion-MNIST: the kept fraction
#    of each layer, and the mean |W| and mean W of its kept weights after training.
# 5. **Can the rules differ at all?** (`lottery_kit.diagnostics`) Per round of the SNR runs: the share of the next
#    round's kept weights that SNR and magnitude pruning would both keep, σ's coefficient of variation, and SNR's
#    normalised gain against that agreement. Where the agreement is near 1, σ has barely adapted and the two rules
#    keep the same weights, so their comparison cannot come out either way. The gain-against-agreement panel also
#    draws the finished rounds of the long-budget set (`long_results_dir`, the paper's control budget).
# 6. **Against the null.** How much of the SNR and magnitude runs' tickets is the same (dashed, beside the agreement),
#    and how much two magnitude runs share that differ only in their training noise from round 2 on
#    (`training_replicate`, grid `*_replicate`); the grey band in the last panel is the mean |gain| of such a
#    replicate over magnitude IMP: what training noise alone gives.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"
perf = "best_perf"
gain_grids = ["fmnist_es", "cartpole_es", "pendulum_es"]
dynamics_grids = ["fmnist_es", "pendulum_es"]     # runs whose round artifacts the committed set keeps
layer_rounds = [1, 6, 11]
long_results_dir = "results-long"   # the long-budget set (its finished rounds); grids not there are left out
long_gain_grids = ["long_pendulum_es", "long_cartpole_es", "long_fmnist_es"]
null_grids = {"pendulum_es": "pendulum_es_replicate"}   # a grid and its magnitude replicate under other noise
long_null_grids = {g: f"{g}_replicate" for g in long_gain_grids}   # the same in the long-budget set
pooled_ranges = [(6, 11), (12, 21)]   # rounds pooled within each seed for the answer (32.8-10.7 %, 8.6-1.15 %)

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import lottery_kit as lk
from lottery_kit import analysis, diagnostics, plots
from lottery_kit.analysis import dynamics
from lottery_kit.grid import cell_path

root = Path(results_dir)
results = pd.concat([lk.collect(root / g) for g in gain_grids], ignore_index=True)
gain = analysis.normalised_gain(results, perf=perf)
gain.pivot_table(index="round", columns="task", values="normalised_gain").round(3)

# %%
rows = []
for grid in dynamics_grids:
    for rule in ("sig2noise", "final-ticket"):
        run = cell_path(root / grid, baseline=rule)
        config = lk.load_config(run)["config"]
        for seed in config["seeds"]:
            arts = [lk.load_round(run, seed, r) for r in range(1, config["rounds"] + 1)]
            scores = jnp.stack([dynamics.weight_scores(a, rule) for a in arts])
            alive = jnp.stack([dynamics.flat(a["mask"]) for a in arts])
            corr = np.asarray(analysis.rank_correlations(scores, alive))
            cut = np.asarray(analysis.pruning_thresholds(scores, alive))
            for r in range(config["rounds"]):
                rows.append({"task": config["task"], "rule": rule, "seed": seed, "round": r + 1,
                             "weights_remaining": float(alive[r].mean()), "spearman": corr[r],
                             "threshold": cut[r] / cut[0] if r < len(cut) else np.nan})
dyn = pd.DataFrame(rows)
dyn.pivot_table(index="round", columns=["task", "rule"], values="spearman").round(3)

# %%
diag = pd.concat([diagnostics.of_run(cell_path(root / g, baseline="sig2noise")) for g in dynamics_grids],
                 ignore_index=True)
diag_by_round = diag.groupby(["task", "round"])[["weights_remaining", *diagnostics.COLUMNS]].mean().reset_index()
note = diagnostics.same_weights_note(diag)
print(note or "SNR and magnitude pruning keep different weights in every round.")
diag_by_round.pivot_table(index="round", columns="task", values=["snr_magnitude_agreement", "sigma_cv"]).round(3)

# %% [markdown]
# The long-budget set: SNR's gain against the agreement over its finished rounds.

# %%
long_sets = [Path(long_results_dir) / g for g in long_gain_grids if (Path(long_results_dir) / g).exists()]
long_results = pd.concat([lk.collect(d) for d in long_sets], ignore_index=True) if long_sets else results.iloc[:0]
long_paired = analysis.gain_against_agreement(long_results, long_results[long_results["baseline"] == "sig2noise"],
                                              perf=perf) if long_sets else pd.DataFrame(columns=["task", "round"])
long_paired.round(3)

# %%
long_null_rows = [pd.concat([lk.collect(Path(long_results_dir) / grid),
                             lk.collect(Path(long_results_dir) / null).assign(baseline="replicate")])
                  for grid, null in long_null_grids.items() if (Path(long_results_dir) / null).exists()]

# %% [markdown]
# Against the null: the tickets' overlap per round (the share of one run's kept weights the other keeps too; two random
# masks share the share of weights left), and the gain a replicate of magnitude IMP shows over magnitude IMP.

# %%
overlaps, null_gain, null_rows = [], [], []
for grid, null in null_grids.items():
    snr, mag = (cell_path(root / grid, baseline=b) for b in ("sig2noise", "final-ticket"))
    replicate = cell_path(root / null, baseline="final-ticket")
    task = lk.load_config(mag)["config"]["task"]
    overlaps += [analysis.ticket_overlap(snr, mag).assign(task=task, pair="SNR vs magnitude runs"),
                 analysis.ticket_overlap(replicate, mag).assign(task=task, pair="two magnitude runs, other noise")]
    null_rows.append(pd.concat([lk.collect(root / grid), lk.collect(root / null).assign(baseline="replicate")]))
    null_gain.append(analysis.normalised_gain(null_rows[-1], perf=perf, better="replicate"))
overlaps = (pd.concat(overlaps).groupby(["task", "pair", "round"])[["weights_remaining", "overlap"]].mean()
            .reset_index())
null_gain = pd.concat(null_gain, ignore_index=True)
overlaps.pivot_table(index="round", columns=["task", "pair"], values="overlap").round(3)

# %% [markdown]
# **The answer, per task and sparsity:** SNR − magnitude paired by seed (95 % bootstrap and Student-t intervals,
# two-sided Wilcoxon signed-rank test; with 3 seeds its smallest possible p is 0.25, and the bootstrap interval, drawn
# from 10 distinct resamples, is too narrow: read the t interval), on the CPU-scale set and on the long-budget set's
# finished rounds, beside what a magnitude replicate under other training noise gives against magnitude IMP (the
# null, where a replicate grid exists).

# %%
comparisons = [("CPU scale", "SNR − magnitude", results, "sig2noise")]
comparisons += [("CPU scale", "replicate − magnitude", rows, "replicate") for rows in null_rows]
comparisons += [("paper budget", "SNR − magnitude", long_results, "sig2noise")] if long_sets else []
comparisons += [("paper budget", "replicate − magnitude", rows, "replicate") for rows in long_null_rows]
columns = ["weights_remaining", "seeds", "mean_difference", "ci_low", "ci_high", "t_low", "t_high", "seeds_same_sign",
           "wilcoxon_p"]
answer = pd.concat([analysis.paired_difference(rows, perf=perf, better=better).assign(set=name, comparison=what)
                    for name, what, rows, better in comparisons], ignore_index=True)
answer[answer["round"] > 1].set_index(["set", "task", "comparison", "round"])[columns].round(4)

# %% [markdown]
# **Pooled over rounds:** each seed's difference averaged over a range of rounds (`pooled_ranges`: 32.8 % → 10.7 %
# of the weights, and 8.6 % → 1.15 % for the control tasks), then compared over seeds
# (`analysis.pooled_difference`). Averaging within a seed takes out the round-to-round training noise that widens
# a single round's interval; only rounds every seed has finished count.

# %%
pooled = pd.concat([analysis.pooled_difference(rows, first, last, perf=perf, better=better)
                    .assign(set=name, comparison=what)
                    for name, what, rows, better in comparisons for first, last in pooled_ranges], ignore_index=True)
pooled.set_index(["set", "task", "comparison", "rounds"])[columns].round(4)

# %%
layers = []
for method, grid in (("ES", "fmnist_es"), ("GD", "fmnist_adam")):
    run = cell_path(root / grid, baseline="final-ticket")
    for seed in lk.load_config(run)["config"]["seeds"]:
        for r in layer_rounds:
            art = lk.load_round(run, seed, r)
            layers.append(analysis.layer_statistics(art["final_mean"], art["mask"]).assign(method=method, round=r,
                                                                                              seed=seed))
layers = pd.concat(layers, ignore_index=True)
layer_table = layers.groupby(["round", "layer", "method"])[["kept_fraction", "mean_abs", "mean"]].mean().round(4)
layer_table

# %%
fig, axes = plt.subplots(3, 3, figsize=(16, 12))
ax = axes[0, 0]
for task, part in gain.groupby("task"):
    ax.plot(100 * part["weights_remaining"], part["normalised_gain"], marker="o", ms=3, label=task)
ax.axhline(0, color="grey", lw=0.8)
ax.set_title("normalised gain of SNR over magnitude IMP")
for ax, column, title in ((axes[0, 1], "spearman", "rank correlation with round 1"),
                          (axes[0, 2], "threshold", "pruning threshold / round 1's")):
    for (task, rule), part in dyn.groupby(["task", "rule"]):
        mean = part.groupby("weights_remaining")[column].mean()
        ax.plot(100 * mean.index, mean.values, "-" if rule == "sig2noise" else "--", marker="o", ms=3,
                color=plots.PAPER_COLOURS[rule], alpha=1.0 if task == "fmnist" else 0.5, label=f"{task}, {rule}")
    ax.set_title(title)
for ax in axes[0]:
    plots.percent_axis(ax, 100 * dyn["weights_remaining"])
    ax.legend(frameon=False, fontsize=7)
for ax, column, title in zip(axes[1], ("kept_fraction", "mean_abs", "mean"),
                             ("kept fraction per layer", "mean |W| of kept weights", "mean W of kept weights")):
    table = layers.groupby(["layer", "round", "method"])[column].mean().unstack("method")
    table.plot.bar(ax=ax, color={"ES": "red", "GD": "green"}, legend=ax is axes[1, 0])
    ax.set_title(f"{title} (F-MNIST)")
    ax.set_xlabel("layer, round")
for ax, column, title in ((axes[2, 0], "snr_magnitude_agreement", "share of kept weights both rules keep"),
                          (axes[2, 1], "sigma_cv", "σ's coefficient of variation")):
    for task, part in diag_by_round.groupby("task"):
        ax.plot(100 * part["weights_remaining"], part[column], marker="o", ms=3, label=task)
    plots.percent_axis(ax, 100 * diag_by_round["weights_remaining"])
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
axes[2, 0].axhline(diagnostics.SAME_WEIGHTS, color="grey", lw=0.8, ls=":")
for (task, pair), part in overlaps.groupby(["task", "pair"]):
    axes[2, 0].plot(100 * part["weights_remaining"], part["overlap"], ls="--" if "SNR" in pair else ":", marker=".",
                    label=f"{task}: tickets of {pair}")
left = np.sort(overlaps["weights_remaining"].unique())
axes[2, 0].plot(100 * left, left, color="grey", lw=0.8, label="two random masks")
axes[2, 0].set_title("shared kept weights: one pruning decision (solid), the runs' tickets (dashed)", fontsize=10)
axes[2, 0].legend(frameon=False, fontsize=7)
ax = axes[2, 2]
for task, part in null_gain.groupby("task"):
    spread = part["normalised_gain"].abs().mean()
    ax.axhspan(-spread, spread, color="grey", alpha=0.2, lw=0, label=f"{task}: a replicate's |gain| (noise)")
for task, part in analysis.gain_against_agreement(results, diag, perf=perf).groupby("task"):
    ax.scatter(part["snr_magnitude_agreement"], part["normalised_gain"], s=14, label=f"{task} (CPU scale)")
for task, part in long_paired.groupby("task"):
    ax.scatter(part["snr_magnitude_agreement"], part["normalised_gain"], s=22, marker="^",
               label=f"{task} (paper budget, {part['round'].max()} rounds)")
ax.axhline(0, color="grey", lw=0.8)
ax.set_xlabel("agreement of SNR and magnitude (previous round's outcome)")
ax.set_ylabel("normalised gain of SNR")
ax.set_title("SNR's gain against the rules' agreement")
ax.legend(frameon=False, fontsize=7)
for ax in axes.ravel():
    ax.spines[["top", "right"]].set_visible(False)
Path(figure_dir).mkdir(exist_ok=True)
fig.tight_layout()
fig.savefig(Path(figure_dir) / "fig7_snr.png", dpi=130)
plt.show()
