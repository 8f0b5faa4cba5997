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
# # Iterative magnitude pruning with evolution strategies
#
# Train with an ES, prune a fraction of the kernel weights by a **baseline** rule, rewind the survivors,
# train again (Lange & Sprekeler, ICML 2023). Every round is written to `out_dir` atomically; rerunning
# resumes after the last finished round. The defaults run in a few minutes on 2 CPU cores;
# `preset = "paper"` switches to the paper's scale (population, generations, 20 rounds at keep ratio 0.8).

# %% tags=["parameters"]
task = "CartPole-v1"         # mnist, fmnist, kmnist, digits, CartPole-v1, Acrobot-v1, Pendulum-v1, MinAtar, Brax names
strategy = "SNES"            # any distribution-based evosax class: Sep_CMA_ES, SNES, PGPE, DiscoveredES, Open_ES, ...
baseline = "sig2noise"       # final-ticket, sig2noise, random-reinit, mask-reinit, snip, grasp, *_permute (lk.BASELINES)
seeds = [0, 1]
rounds = 5
keep_ratio = 0.3             # the paper keeps 0.8 per round over 20 rounds: see preset
generations = 100
popsize = 32
eval_every = 25
mean_decay = 0.0
es_rules = "paper"           # "paper": evosax 0.1.4's update rules, as the paper ran them; "evosax-0.3": evosax 0.3.2's
strategy_settings = {}       # the strategy's own settings, e.g. {"std_init": 0.05}; an unknown name is refused
sigma_convention = "per_weight_std"   # σ read by SNR pruning: "per_weight_std" or "original" (Sep-CMA-ES: C_ii)
signal = "final"             # prune by the final ES mean or by the best (validation) mean
task_options = {}            # e.g. {"n_rollouts": 8} or {"batch_size": 1024}; unset ones come from the preset
distribution = "global"      # how the kept weights spread over the kernels: "global" (the paper's), "layerwise", "erk"
erk_power = 1.0              # the power scale of ERK (with distribution "erk")
min_per_layer = 0            # every kernel keeps at least this many weights (or all it has left)
rewind_step = 0              # late rewinding: rewind to round 1's weights after this many steps (0: θ0, the paper's)
training_replicate = 0       # 1, 2, ...: rounds after the dense one train under another noise stream (a null run)
devices = None               # None: every core, or every GPU; 1: the numbers of a one-device run
plugins = []                 # modules to import first: they register your own scores, distributions, tasks, ES
preset = "small"             # "small": the values above, few rollouts / small batches; "paper": the paper's scale
#                              (it replaces popsize, generations, eval_every, mean_decay, rounds and keep_ratio)
out_dir = "runs/imp_es"

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import lottery_kit as lk
from lottery_kit import parameters   # starts no JAX

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused
lk.configure_devices(devices)   # before anything starts JAX: a CPU's cores become that many devices
from lottery_kit import diagnostics, experiment, plots  # noqa: E402

experiment.load_plugins(plugins)
config = lk.RunConfig.from_parameters(
    preset=preset, task=task, strategy=strategy, baseline=baseline, seeds=seeds, rounds=rounds,
    keep_ratio=keep_ratio, generations=generations, popsize=popsize, eval_every=eval_every, mean_decay=mean_decay,
    es_rules=es_rules, strategy_settings=strategy_settings, sigma_convention=sigma_convention, signal=signal,
    task_options=task_options, distribution=distribution, erk_power=erk_power, min_per_layer=min_per_layer,
    rewind_step=rewind_step, training_replicate=training_replicate)
config

# %%
results = lk.run_experiment(config, out_dir, devices=devices)
results

# %% [markdown]
# Performance of the best (validation-selected) ES mean against the fraction of kernel weights remaining,
# mean ± standard error over seeds.

# %%
ax = plots.imp_plot(results, perf="best_perf", title=f"{task} · {strategy} · {baseline}")
plots.save(ax, Path(out_dir) / "imp_plot.png")
plt.show()

# %% [markdown]
# **Could the rules differ here?** SNR pruning ranks by |μ|/σ, magnitude pruning by |μ|. Per round: σ's coefficient
# of variation over the kept weights, the mean's travel from θ0, and the share of the next round's kept weights that
# both rules would keep (`lottery_kit.diagnostics`). Near 1, σ has barely adapted and the two keep the same weights.

# %%
print(diagnostics.same_weights_note(results) or "SNR and magnitude pruning keep different weights in every round.")
results.groupby("round")[["weights_remaining", *diagnostics.COLUMNS]].mean()
