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
# # Figure 1 (right): the aggregated ES ticket effect, and ES against GD
#
# Top: SNR tickets (black), magnitude-IMP tickets (red) and random masks with fresh weights (olive) of an
# evolution strategy. Bottom: magnitude-IMP tickets of the evolution strategy (red) and of gradient descent
# (green). Each task is min-max normalised over the joint range of the methods in its panel, then the tasks are
# averaged; mean ± standard error over seeds. Tasks with a shorter schedule (Fashion-MNIST: 11 rounds at CPU scale)
# stop earlier, so the last points average the tasks that reach them. `results_dir` holds the committed CPU-scale
# set (`papers_figures/regenerate.sh`).

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"       # where the PNG goes (the docs' report shows it)
perf = "best_perf"
es_grids = ["fmnist_es", "cartpole_es", "pendulum_es"]
gd_grids = ["fmnist_adam", "cartpole_ppo", "pendulum_ppo"]

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import lottery_kit as lk
from lottery_kit import plots

LABELS = {"sig2noise": "ES-SNR", "final-ticket": "ES-IMP", "random-reinit": "ES-Random"}


def load(grids):
    return pd.concat([lk.collect(Path(results_dir) / g) for g in grids], ignore_index=True)


es = load(es_grids)
tickets = es[es["baseline"].isin(LABELS)].assign(method=lambda d: d["baseline"].map(LABELS))
gd = load(gd_grids)
versus = pd.concat([es[es["baseline"] == "final-ticket"].assign(method="ES"),
                    gd[gd["baseline"] == "final-ticket"].assign(method="GD")], ignore_index=True)
tickets.pivot_table(index=["task", "round"], columns="method", values=perf, aggfunc="mean").round(3)

# %%
fig, axes = plt.subplots(2, 1, figsize=(5.5, 7), sharex=True)
plots.aggregate_plot(tickets, perf=perf, hue="method", ax=axes[0])
axes[0].set_title(f"aggregated ES ticket effect ({tickets['task'].nunique()} tasks)")
plots.aggregate_plot(versus, perf=perf, hue="method", ax=axes[1])
axes[1].set_title(f"aggregated ES vs GD ({versus['task'].nunique()} tasks)")
for ax in axes:
    ax.set_ylabel("normalised performance")
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig1_aggregate.png")
plt.show()
