"""The extension recipes of docs/how-to/extend.md, taken from the page itself, registered from outside the package
and used by one IMP run of the imp_es notebook (through papermill, as a grid cell would)."""

import re
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import papermill as pm

import lottery_kit as lk
from lottery_kit.pruning import apportion

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "how-to" / "extend.md"


def recipes() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) == 5, f"{PAGE}'s recipes: a score, a distribution, a network with its task, an ES, a trainer"
    return "\n".join(blocks)


def run_notebook(name, tmp_path, monkeypatch, **parameters):
    """Run ``notebooks/{name}.ipynb`` with the recipes as the plugin module ``toy_extension``."""
    (tmp_path / "toy_extension.py").write_text(recipes())
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{__import__('os').environ.get('PYTHONPATH', '')}")
    pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(tmp_path / "out.ipynb"),
                        cwd=str(ROOT / "notebooks"), progress_bar=False, kernel_name="python3",
                        parameters=dict(plugins=["toy_extension"], **parameters))


def test_the_extension_recipes_run_one_imp_run_through_the_notebook(tmp_path, monkeypatch):
    out = tmp_path / "run"
    run_notebook("imp_es", tmp_path, monkeypatch, task="digits-mlp", strategy="SlowSigmaSNES",
                 baseline="movement-ticket", distribution="fan-in", seeds=[0], rounds=2, keep_ratio=0.5,
                 generations=4, popsize=8, eval_every=2, out_dir=str(out))
    rows = pd.read_parquet(out / "results.parquet")
    assert rows["kept_weights"].tolist() == [25408, 12704]        # 784·32 + 32·10 kernel weights, then half
    assert set(rows["strategy"]) == {"SlowSigmaSNES"} and set(rows["baseline"]) == {"movement-ticket"}
    config = lk.load_config(out)["config"]
    assert (config["task"], config["distribution"]) == ("digits-mlp", "fan-in")
    mask = lk.load_round(out, 0, 2)["mask"]["params"]
    counts = [int(np.asarray(mask[layer]["kernel"]).sum()) for layer in ("Dense_0", "Dense_1")]
    fan_in = apportion(np.array([25088 / 784, 320 / 32]), [25088, 320], 12704)   # density ∝ 1 / fan-in
    assert tuple(counts) == fan_in and sum(counts) == 12704
    assert counts[1] == 320       # the small output layer has the larger density: it stays whole
    init, first = lk.load_round(out, 0, 2)["init"], lk.load_round(out, 0, 1)["init"]
    kept = np.asarray(mask["Dense_0"]["kernel"])
    np.testing.assert_array_equal(np.asarray(init["params"]["Dense_0"]["kernel"])[kept],
                                  np.asarray(first["params"]["Dense_0"]["kernel"])[kept])   # rewound to θ0


def test_a_registered_trainer_runs_by_name_in_the_gradient_descent_notebook(tmp_path, monkeypatch):
    out = tmp_path / "run"
    run_notebook("imp_gd", tmp_path, monkeypatch, task="digits", optimizer="AdamW", baseline="final-ticket",
                 seeds=[0], rounds=2, keep_ratio=0.5, epochs=1, trainer_settings={"weight_decay": 0.5},
                 task_options={"batch_size": 64}, out_dir=str(out))
    rows = pd.read_parquet(out / "results.parquet")
    assert set(rows["strategy"]) == {"AdamW"} and rows["round"].tolist() == [1, 2]
    assert rows["kept_weights"].iloc[1] == rows["kept_weights"].iloc[0] // 2
    trainer = lk.load_config(out)["config"]["trainer"]
    assert (trainer["strategy"], trainer["weight_decay"], trainer["epochs"]) == ("AdamW", 0.5, 1)
    second = lk.load_round(out, 0, 2)
    for mask, weights in zip(*(jax.tree_util.tree_leaves(second[k]) for k in ("mask", "final_mean"))):
        assert not np.asarray(weights)[~np.asarray(mask)].any()     # pruned weights stayed exactly zero
