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
# # Figure 3: evolution strategies against gradient descent, task by task
#
# Magnitude-IMP tickets trained by an evolution strategy (red) and by gradient descent (green: Adam on vision, PPO
# on control), each in its own IMP run from the same dense initialisations, mean ± standard error over seeds. The
# last panel is the paper's aggregate: every task min-max normalised over the joint ES/GD range, then averaged.
# `results_dir` holds the committed CPU-scale set (`papers_figures/regenerate.sh`); point it at a set made at
# `preset=paper` for the paper's scale.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"         # where the PNG goes (the docs' report shows it)
perf = "final_perf"            # the paper scores the network after its last generation / epoch
pairs = [["fmnist_es", "fmnist_adam"], ["cartpole_es", "cartpole_ppo"], ["pendulum_es", "pendulum_ppo"]]

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import lottery_kit as lk
from lottery_kit import plots

frames = []
for es, gd in pairs:
    for grid, method in ((es, "ES"), (gd, "GD")):
        rows = lk.collect(Path(results_dir) / grid)
        frames.append(rows[rows["baseline"] == "final-ticket"].assign(method=method))
results = pd.concat(frames, ignore_index=True)
results.pivot_table(index=["task", "round"], columns="method", values=perf, aggfunc="mean").round(3)

# %%
tasks = list(dict.fromkeys(results["task"]))
fig, axes = plt.subplots(1, len(tasks) + 1, figsize=(4.2 * (len(tasks) + 1), 3.6))
for ax, task in zip(axes, tasks):
    plots.imp_plot(results[results["task"] == task], perf=perf, hue="method", ax=ax, title=task, legend=False)
    ax.set_ylabel("performance")
plots.aggregate_plot(results, perf=perf, hue="method", ax=axes[-1])
axes[-1].set_ylabel("normalised performance")
axes[-1].set_title(f"aggregated ES vs GD ({len(tasks)} tasks)")
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig3_es_vs_gd.png")
plt.show()
