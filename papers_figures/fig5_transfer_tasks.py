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
# # Figure 5: tickets transfer between tasks and from gradient descent to evolution
#
# Each panel: the target's own magnitude-IMP ticket (red), the target's random masks with fresh weights (olive),
# and the source's tickets trained by the target without further pruning (blue), mean ± standard error over seeds.
# GD→ES (Adam's tickets trained by SNES) and task→task (Fashion-MNIST tickets trained on scikit-learn's 8×8
# digits, standing in for MNIST, which the kit downloads where there is internet; the committed set has no own runs
# of SNES on digits, so that panel shows the transferred tickets alone). The paper's ant→ant_mass15 panel needs Brax
# at scale and is not in the CPU-scale set.

# %% tags=["parameters"]
results_dir = "results"
figure_dir = "figures"
perf = "best_perf"

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
from pathlib import Path

from lottery_kit import plots

PANELS = [("F-MNIST: Adam → SNES", "Adam", "SNES", "fmnist", "fmnist_es"),
          ("F-MNIST → digits: SNES", "SNES", "SNES", "digits", None)]
panels = [(title, plots.transfer_panel(results_dir, "fmnist_transfer", source, target, task, own))
          for title, source, target, task, own in PANELS]
fig, table = plots.panels_figure(panels, perf=perf)
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig5_transfer_tasks.png")
table.round(3)
