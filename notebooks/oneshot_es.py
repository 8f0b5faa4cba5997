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
# # One-shot pruning: sparsity as a grid axis
#
# Instead of sequential IMP rounds, prune a dense ES solution **once** to `sparsity` with any baseline,
# rewind (or re-initialise, per the baseline) and train the sparse network. The dense run lives in
# `dense_dir`, which every cell of a grid shares: the first cell trains it (under a file lock), the
# others reuse it. Sweep it with the grid runner, e.g.
#
# ```
# lottery-kit grid notebooks/oneshot_es.ipynb --out runs/oneshot \
#     -p sparsity=0.5 -p sparsity=0.9 -p sparsity=0.97 -p baseline=sig2noise -p baseline=random-reinit \
#     -p dense_dir=$PWD/runs/oneshot_dense
# ```

# %% tags=["parameters"]
task = "CartPole-v1"
strategy = "SNES"
baseline = "sig2noise"
sparsity = 0.95              # fraction of kernel weights pruned
seeds = [0, 1]
generations = 100
popsize = 32
eval_every = 25
task_options = {"n_rollouts": 4, "n_eval_episodes": 16}
dense_dir = "runs/oneshot_dense"   # shared by all cells (use an absolute path in grids)
out_dir = "runs/oneshot"

# %%
import matplotlib.pyplot as plt
import pandas as pd

import lottery_kit as lk
from lottery_kit import oneshot, plots

lk.get_pruner(baseline)  # names and settings are checked before anything is loaded or compiled
trainer = lk.ESTrainer(strategy=strategy, popsize=popsize, generations=generations, eval_every=eval_every)
the_task = lk.make_task(task, **task_options)
results = oneshot.run_oneshot(the_task, trainer, baseline, seeds=seeds, sparsity=sparsity, dense_dir=dense_dir,
                              out_dir=out_dir, config={"task_options": task_options})
dense = lk.collect(dense_dir).assign(baseline="dense")
results

# %%
ax = plots.imp_plot(pd.concat([dense, results]), perf="best_perf",
                    title=f"{task}: one-shot {baseline} at {sparsity:.0%} sparsity")
plots.save(ax, f"{out_dir}/oneshot.png")
plt.show()
