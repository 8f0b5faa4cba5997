"""How differently iterate-snr and magnitude rank Adam's weights (Figure 8's Adam score panel; docs/report.md,
"Pruning").

One dense Adam round on Fashion-MNIST with the layout grid's settings (seed 0, 2 epochs, lr 3e-4, batch 128), then,
on its outcome: the share of the kept weights that both scores keep at keep fractions 0.8, 0.2 and 0.05
(:func:`lottery_kit.diagnostics.agreement`, as for ES's SNR and magnitude), the spread of the iterates' std, and how
far the weights that iterate-snr would prune first travelled from θ0. About 30 s on 2 cores.

    .venv/bin/python papers_figures/scripts/iterate_snr_agreement.py [out_dir]
"""

from __future__ import annotations

import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import spearmanr

import lottery_kit as lk
from lottery_kit import diagnostics, masks


def flat(tree) -> np.ndarray:
    return np.asarray(masks.flat_prunable(tree)[0])


def main(out_dir: str) -> None:
    lk.run_gd_imp(task="fmnist", optimizer="Adam", baseline="iterate-snr", seeds=[0], rounds=1, keep_ratio=0.8,
                  out_dir=out_dir, epochs=2, progress=False)
    r1 = lk.load_round(out_dir, 0, 1)
    snr = lk.pruning.snr_scores(r1["iterate_mean"], r1["iterate_std"])
    magnitude = jax.tree_util.tree_map(jnp.abs, r1["final_mean"])
    n = int(flat(r1["mask"]).sum())
    for keep in (0.8, 0.2, 0.05):
        share = float(diagnostics.agreement(snr, magnitude, r1["mask"], int(round(n * keep))))
        print(f"keep {keep:4}: share of the kept weights that both scores keep {share:.3f}")
    std, travel = flat(r1["iterate_std"]), np.abs(flat(r1["final_mean"]) - flat(r1["init"]))
    flat_snr = flat(snr)
    first = flat_snr <= np.quantile(flat_snr, 0.2)
    print(f"iterates' std: coefficient of variation {std.std() / std.mean():.2f}, "
          f"Spearman with |mean| {spearmanr(np.abs(flat(r1['iterate_mean'])), std)[0]:.2f}")
    print(f"|θ − θ0| of the 20 % iterate-snr prunes first {travel[first].mean():.4f}, of the rest {travel[~first].mean():.4f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="iterate_snr_"))
