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
# # Quickstart: do evolution strategies have lottery tickets?
#
# A small grid through the grid runner: the experiment notebook `imp_es.ipynb` for the three headline
# baselines — **sig2noise** (the paper's SNR pruning), **final-ticket** (magnitude IMP) and
# **random-reinit** (random masks, fresh weights) — each over two seeds (vmapped inside one cell).
# Every cell is its own papermill run in `out_dir/cells/…`; rerunning skips finished cells.
#
# With the defaults (SNES on CartPole-v1, population 32, 60 generations a round, 5 rounds keeping
# 30% each) the grid takes one to two minutes on 2 CPU cores, two cells at once on a core each. Each cell runs on
# one device: a run spread over several devices can end elsewhere than a one-device run (XLA rounds some last bits
# differently, and generations amplify them), so with one each the figure is the same on any CPU machine.
# Expect the ticket effect at the sparse end: IMP masks with rewound weights keep balancing the pole where random
# masks with fresh weights fail.

# %% tags=["parameters"]
task = "CartPole-v1"
strategy = "SNES"
baselines = ["sig2noise", "final-ticket", "random-reinit"]
seeds = [0, 1]
rounds = 5
keep_ratio = 0.3
generations = 60
popsize = 32
eval_every = 20
workers = 2                  # cells at once on a CPU machine (where it has GPUs: one cell per GPU)
dask = None                  # "local" or a scheduler address to run the cells on Dask
out_dir = "runs/quickstart"

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import lottery_kit as lk
from lottery_kit import parameters, plots
from lottery_kit.grid import one_device_per_cell

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

notebook = Path("imp_es.ipynb") if Path("imp_es.ipynb").exists() else Path("notebooks/imp_es.ipynb")
status = lk.run_grid(
    notebook, out_dir,
    axes={"baseline": baselines, "task": [task], "strategy": [strategy], "seeds": [seeds], "rounds": [rounds],
          "keep_ratio": [keep_ratio], "generations": [generations], "popsize": [popsize],
          "eval_every": [eval_every]},
    dask=dask, **one_device_per_cell(workers))   # a core or a GPU of its own, one device each
status[["cell", "state", "seconds", "skipped"]]

# %%
failed = status[status["state"] != "done"]
assert failed.empty, failed[["cell", "error"]].to_string()
results = lk.collect(out_dir)
table = results.pivot_table(index="weights_remaining", columns="baseline", values="best_perf", aggfunc="mean")
table.sort_index(ascending=False)

# %%
ax = plots.imp_plot(results, perf="best_perf", title=f"{task} · {strategy}: tickets vs random re-initialisation")
plots.save(ax, Path(out_dir) / "ticket_effect.png")
print("figure:", Path(out_dir, "ticket_effect.png").resolve())
plt.show()
