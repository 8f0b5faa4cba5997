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
mean_decay = 0.0
sigma_convention = "per_weight_std"
strategy_settings = {}       # the strategy's own settings, e.g. {"std_init": 0.05}
es_rules = "paper"           # "paper": the paper's update rules for its five strategies; "evosax-0.3": evosax 0.3.2's
task_options = {}            # unset options come from the preset
distribution = "global"      # how the kept weights spread over the kernels: "global" (the paper's), "layerwise", "erk"
erk_power = 1.0              # the power scale of ERK (with distribution "erk")
min_per_layer = 0            # every kernel keeps at least this many weights (or all it has left)
plugins = []                 # modules to import first: they register your own scores, distributions, tasks, ES
preset = "small"             # "small": the values above, few rollouts / small batches; "paper": the paper's scale
#                              (it replaces popsize, generations, eval_every and mean_decay)
dense_dir = "runs/oneshot_dense"   # shared by all cells (use an absolute path in grids)
out_dir = "runs/oneshot"

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import lottery_kit as lk
from lottery_kit import experiment, parameters, plots

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused
experiment.load_plugins(plugins)
results = lk.run_oneshot_es(task, strategy, baseline, seeds=seeds, sparsity=sparsity, dense_dir=dense_dir,
                            out_dir=out_dir, preset=preset, task_options=task_options, distribution=distribution,
                            erk_power=erk_power, min_per_layer=min_per_layer, generations=generations,
                            popsize=popsize, eval_every=eval_every, mean_decay=mean_decay,
                            sigma_convention=sigma_convention, strategy_settings=strategy_settings, es_rules=es_rules)
dense = lk.collect(dense_dir).assign(baseline="dense")
results

# %%
ax = plots.imp_plot(pd.concat([dense, results]), perf="best_perf",
                    title=f"{task}: one-shot {baseline} at {sparsity:.0%} sparsity")
plots.save(ax, Path(out_dir) / "oneshot.png")
plt.show()
