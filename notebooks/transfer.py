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
# # Ticket transfer between optimisers and tasks
#
# Take the tickets of a finished IMP run, the mask and rewound θ0 of every round and seed, and train each with a
# **target** optimiser on a **target** task, without further pruning (the paper's Figures 4 and 5): ES→ES (SNES→PGPE
# on F-MNIST, Sep-CMA-ES→DES on ant), task→task (F-MNIST→MNIST, ant→`ant_mass15`), ES→GD (F-MNIST→Adam for 20
# epochs; ant→PPO, the ES kernel copied into the policy's mean-action columns) and GD→ES. The output is an
# ordinary run directory: `results.parquet` has the `imp_es` columns plus `source_task`, `source_strategy` and
# `source_baseline` (`round` is the source round), and `lk.load_round` reads every trained ticket.
#
# With `source_dir = None` the notebook first makes a small source run (`source_recipe`, an `imp_es` run of SNES
# with SNR pruning on Fashion-MNIST) in `out_dir/source`, so the defaults run end to end in about two minutes on
# 2 CPU cores. Give `compare_dirs` (runs of the target, e.g. its own IMP tickets and random re-initialisation)
# to draw the paper's panel.

# %% tags=["parameters"]
source_dir = None            # a finished imp_es / imp_gd run; None: make source_recipe's run in out_dir/source
target_task = "fmnist"
target_strategy = "Adam"     # any evosax class name (SNES, PGPE, DiscoveredES, ...), "Adam" or "PPO"
rounds = None                # None: every round of the source; or a list of source rounds, e.g. [1, 6, 11, 16, 21]
generations = 100            # ES targets
popsize = 32
eval_every = 25
mean_decay = 0.0
strategy_settings = {}
epochs = 1                   # Adam targets (the paper's ES→Adam: 20)
total_steps = 300_000        # PPO targets
trainer_settings = {}
task_options = {}            # the target task's options; unset ones come from the preset
preset = "small"             # "small" or "paper" (the target's scale)
compare_dirs = []            # finished runs drawn beside the transfer (the target's own ticket, random re-init, ...)
source_recipe = {"task": "fmnist", "strategy": "SNES", "baseline": "sig2noise", "seeds": [0, 1], "rounds": 3,
                 "keep_ratio": 0.3, "generations": 20, "popsize": 32, "eval_every": 10,
                 "task_options": {"batch_size": 256}}
out_dir = "runs/transfer"

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import lottery_kit as lk
from lottery_kit import parameters, plots
from lottery_kit.run_config import for_trainer

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused
training = for_trainer(target_strategy, dict(     # the settings of the target's kind of trainer
    generations=generations, popsize=popsize, eval_every=eval_every, mean_decay=mean_decay,
    strategy_settings=strategy_settings, epochs=epochs, total_steps=total_steps, trainer_settings=trainer_settings))
results = lk.run_transfer(source_dir, target_task, target_strategy, rounds, out_dir=out_dir, preset=preset,
                          source_recipe=source_recipe, task_options=task_options, **training)
results

# %% [markdown]
# The transferred tickets against the source run (and any `compare_dirs`): test score of the validation-best
# weights, mean ± standard error over seeds.

# %%
def labelled(frame, label):
    return frame.assign(method=label)


source = lk.collect(lk.load_config(out_dir)["config"]["transfer"]["source_dir"])
parts = [labelled(results, f"transfer {results['source_strategy'].iloc[0]}→{target_strategy} ({target_task})"),
         labelled(source, f"source: {source['strategy'].iloc[0]} {source['baseline'].iloc[0]} ({source['task'].iloc[0]})")]
for d in compare_dirs:
    other = lk.collect(d)
    parts.append(labelled(other, f"{other['strategy'].iloc[0]} {other['baseline'].iloc[0]} ({other['task'].iloc[0]})"))
both = pd.concat(parts, ignore_index=True)
ax = plots.imp_plot(both, perf="best_perf", hue="method", title=f"ticket transfer to {target_strategy} on {target_task}")
plots.save(ax, Path(out_dir) / "transfer.png")
plt.show()
