# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 1 (right): ES tickets across tasks, min-max normalised
#
# Redraws the paper's aggregate IMP curves from grid results: for each task, performance is min-max
# normalised over every baseline's rows (the joint range), then averaged over tasks; mean ± standard
# error over seeds. Point `results_dir` at any grid of `notebooks/imp_es.ipynb` (for the paper: the 12
# tasks × {sig2noise, final-ticket, random-reinit} × 5 seeds at `preset=paper`). If the directory holds
# no results, a tiny grid on CartPole is run so the notebook always executes end to end.

# %% tags=["parameters"]
results_dir = "runs/fig1_grid"
perf = "best_perf"
tiny_grid = {"task": ["CartPole-v1"], "baseline": ["sig2noise", "final-ticket", "random-reinit"],
             "seeds": [[0, 1]], "rounds": [3], "keep_ratio": [0.2], "generations": [40], "popsize": [16],
             "eval_every": [20]}

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import lottery_kit as lk
from lottery_kit import plots

if not list(Path(results_dir).rglob("results.parquet")):
    notebook = Path("../notebooks/imp_es.ipynb")
    status = lk.run_grid(notebook, results_dir, tiny_grid, workers=1)
    assert (status["state"] == "done").all(), status[["cell", "error"]]
results = lk.collect(results_dir)
results.groupby(["task", "baseline", "round"])[perf].mean().unstack("baseline")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plots.aggregate_plot(results, perf=perf, ax=axes[0])
axes[0].set_ylabel("normalised performance")
for task, part in results.groupby("task"):
    plots.imp_plot(part, perf=perf, ax=axes[1], title=f"{task} (raw)")
    break  # one raw panel; draw the others per task as needed
plots.save(fig, Path(results_dir) / "fig1_aggregate.png")
plt.show()
