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
# # Figure 4: ES tickets transfer to another evolution strategy and to gradient descent
#
# Each panel: the target's own magnitude-IMP ticket (red), the target's random masks with fresh weights (olive),
# and the source's tickets trained by the target without further pruning (blue), mean ± standard error over seeds.
# ES→ES (SNES→PGPE on Fashion-MNIST) and ES→GD (SNES tickets trained by Adam for 20 epochs, as in the paper;
# Adam's own IMP trains 2 epochs a round). The paper's ant panel (Sep-CMA-ES→DES) needs Brax at scale and is not in
# the CPU-scale set.

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

PANELS = [("F-MNIST: SNES → PGPE", "SNES", "PGPE", "fmnist", "fmnist_pgpe"),
          ("F-MNIST: SNES → Adam (20 epochs)", "SNES", "Adam", "fmnist", "fmnist_adam")]
panels = [(title, plots.transfer_panel(results_dir, "fmnist_transfer", source, target, task, own))
          for title, source, target, task, own in PANELS]
fig, table = plots.panels_figure(panels, perf=perf)
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig4_transfer_es.png")
table.round(3)
