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
# # Iterative magnitude pruning with gradient descent
#
# The paper's gradient-descent side of the comparison: **masked Adam** on the vision tasks and **masked PPO** on
# control (gymnax's classic control and MinAtar; Brax with Brax's own PPO). Gradients and updates are masked, so
# pruned weights and their Adam moments stay exactly zero; PPO prunes the actor and keeps the critic dense. The
# run directory, `results.parquet` (its `strategy` column holds the optimiser) and `lk.load_round` are exactly
# those of `imp_es`, so one figure can read an ES grid and a GD grid side by side. `sig2noise` needs an ES search
# distribution and is refused here; every other baseline works. The defaults (Adam on Fashion-MNIST, one epoch a
# round) take about a minute and a half on 2 CPU cores; `preset = "paper"` is the paper's scale (Adam: 2 epochs a round,
# batch 128, lr 3e-4; PPO: the paper's Pendulum settings, or the Brax demo's for Brax; 20 rounds at keep ratio 0.8).

# %% tags=["parameters"]
task = "fmnist"              # vision (Adam): mnist, fmnist, kmnist, digits; control (PPO): CartPole-v1, Pendulum-v1, ...
optimizer = "Adam"           # "Adam" (vision) or "PPO" (control)
baseline = "final-ticket"    # final-ticket, iterate-snr, random-reinit, mask-reinit, snip, grasp, *_permute
seeds = [0, 1]
rounds = 3
keep_ratio = 0.3             # the paper keeps 0.8 per round over 20 rounds: see preset
epochs = 1                   # Adam: epochs a round (the paper: 2)
total_steps = 300_000        # PPO: environment steps a round (the paper's Pendulum: 1.75M)
trainer_settings = {}        # the trainer's own fields, e.g. {"learning_rate": 1e-3} or {"num_envs": 16}
signal = "final"             # prune by the final weights or by the validation-best ones
task_options = {}            # unset ones come from the preset (PPO also sets its network here)
distribution = "global"      # how the kept weights spread over the kernels: "global" (the paper's), "layerwise", "erk"
erk_power = 1.0              # the power scale of ERK (with distribution "erk")
min_per_layer = 0            # every kernel keeps at least this many weights (or all it has left)
rewind_step = 0              # late rewinding: rewind to round 1's weights after this many steps (0: θ0, the paper's)
training_replicate = 0       # 1, 2, ...: rounds after the dense one train under another noise stream (a null run)
devices = None               # None: every core, or every GPU; 1: the numbers of a one-device run
plugins = []                 # modules to import first: they register your own scores, distributions, tasks, ES
preset = "small"             # "small": the values above; "paper": the paper's scale
#                              (it replaces epochs or total_steps, rounds and keep_ratio)
out_dir = "runs/imp_gd"

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import lottery_kit as lk
from lottery_kit import parameters   # starts no JAX

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused
lk.configure_devices(devices)   # before anything starts JAX: a CPU's cores become that many devices
from lottery_kit import experiment, plots  # noqa: E402
from lottery_kit.run_config import for_trainer  # noqa: E402

experiment.load_plugins(plugins)
config = lk.RunConfig.from_parameters(
    preset=preset, task=task, optimizer=optimizer, baseline=baseline, seeds=seeds, rounds=rounds,
    keep_ratio=keep_ratio, trainer_settings=trainer_settings, signal=signal, task_options=task_options,
    distribution=distribution, erk_power=erk_power, min_per_layer=min_per_layer, rewind_step=rewind_step,
    training_replicate=training_replicate,
    **for_trainer(optimizer, dict(epochs=epochs, total_steps=total_steps)))   # the optimiser's own length of a round
config

# %%
results = lk.run_experiment(config, out_dir, devices=devices)
results

# %% [markdown]
# Test score against the fraction of kernel weights remaining, mean ± standard error over seeds: the score after
# the last epoch or update (the paper's) and that of the validation-best weights.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, perf in zip(axes, ("final_perf", "best_perf")):
    plots.imp_plot(results, perf=perf, ax=ax, title=f"{task} · {optimizer} · {baseline}")
plots.save(fig, Path(out_dir) / "imp_plot.png")
plt.show()
