"""The experiment notebook through papermill on the real Fashion-MNIST data, as a researcher runs it."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest

import lottery_kit as lk
from lottery_kit import masks

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"task", "strategy", "baseline", "seed", "round", "sparsity", "weights_remaining", "kept_weights",
           "final_perf", "best_perf"}


@pytest.mark.slow
def test_imp_es_notebook_on_fashion_mnist(tmp_path):
    out = tmp_path / "run"
    pm.execute_notebook(str(ROOT / "notebooks" / "imp_es.ipynb"), str(tmp_path / "out.ipynb"),
                        cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters=dict(task="fmnist", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=3,
                                        keep_ratio=0.5, generations=4, popsize=8, eval_every=2,
                                        task_options={"batch_size": 64}, out_dir=str(out)))
    results = pd.read_parquet(out / "results.parquet")
    assert COLUMNS <= set(results.columns) and len(results) == 2 * 3
    assert (results["task"] == "fmnist").all() and (results["strategy"] == "SNES").all()
    assert results.groupby("round")["kept_weights"].first().tolist() == [11240, 5620, 2810]  # the paper's CNN
    np.testing.assert_allclose(results["sparsity"], 1 - results["kept_weights"] / 11240)
    assert results[["final_perf", "best_perf"]].stack().between(0, 1).all()  # test accuracies
    art = lk.load_round(out, seed=1, round=3)
    assert int(masks.kept_count(art["mask"])) == 2810
    w, m = (np.asarray(masks.flat_prunable(art[k])[0]) for k in ("final_mean", "mask"))
    assert np.all(w[~m] == 0) and np.any(w[m] != 0)
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["task"] == "fmnist" and meta["versions"]["jax"]
    assert (out / "imp_plot.png").stat().st_size > 10_000
