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
# # Figure 2: every pruning baseline, task by task
#
# An evolution strategy (SNES) trained from the tickets of every baseline: SNR and magnitude IMP (rewound θ0),
# random masks or magnitude masks with fresh weights, magnitude masks with θ0 permuted within each layer (and the
# masks permuted too), and the one-shot SNIP and GraSP (vision only: they need a differentiable loss). Mean ±
# standard error over seeds. Fashion-MNIST runs 6 rounds at keep ratio 0.5, CartPole the paper's 21 at 0.8.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"
perf = "best_perf"
grids = ["fmnist_baselines", "cartpole_es"]

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

import lottery_kit as lk
from lottery_kit import plots

results = pd.concat([lk.collect(Path(results_dir) / g) for g in grids], ignore_index=True)
last = results[results["round"] == results.groupby("task")["round"].transform("max")]
last.pivot_table(index="baseline", columns="task", values=perf, aggfunc="mean").round(3)  # at the sparsest round

# %%
others = [b for b in dict.fromkeys(results["baseline"]) if b not in plots.PAPER_COLOURS]  # one colour each, all panels
colours = [c for i, c in enumerate(sns.color_palette("colorblind")) if i not in (3, 8)]  # not near red or olive
palette = dict(zip(others, colours))
tasks = list(dict.fromkeys(results["task"]))
fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.2))
for ax, task in zip(list(axes) if len(tasks) > 1 else [axes], tasks):
    plots.imp_plot(results[results["task"] == task], perf=perf, ax=ax, title=task, palette=palette)
    ax.set_ylabel("performance")
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig2_baselines.png")
plt.show()
