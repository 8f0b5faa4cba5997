"""The IMP driver with the store: artifacts, resume after a kill, refusal of a foreign directory."""

import json

import jax
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import ConfigError, ESTrainer, masks, store
from lottery_kit.store import RunStore

COLUMNS = ["task", "strategy", "baseline", "seed", "round", "sparsity", "weights_remaining", "kept_weights",
           "final_perf", "best_perf"]


def _trainer():
    return ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False)


def test_rounds_write_artifacts_and_rows(cartpole, tmp_path):
    df = lk.run_imp(cartpole, _trainer(), "sig2noise", seeds=[3, 5], rounds=3, keep_ratio=0.5, out_dir=tmp_path,
                    progress=False)
    assert list(df.columns[: len(COLUMNS)]) == COLUMNS
    assert len(df) == 6 and sorted(df["round"].unique()) == [1, 2, 3]
    n = masks.num_prunable(cartpole.init_params(jax.random.key(0)))
    assert df.groupby("round")["kept_weights"].first().tolist() == [n, round(n / 2), round(n / 4)]
    np.testing.assert_allclose(df["weights_remaining"], df["kept_weights"] / n)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), df)
    assert df["val_curve_mean"].notna().all() and (df["val_curve_mean"] <= df["best_val"] + 1e-4).all()
    art = lk.load_round(tmp_path, seed=5, round=2)
    assert set(art) == {"init", "mask", "final_mean", "final_std", "best_mean"}
    kernel_mask = np.asarray(art["mask"]["params"]["Dense_1"]["kernel"])
    assert kernel_mask.dtype == bool and art["init"]["params"]["Dense_1"]["kernel"].shape == (64, 64)
    assert np.all(np.asarray(art["final_mean"]["params"]["Dense_1"]["kernel"])[~kernel_mask] == 0)
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["config"]["baseline"] == "sig2noise" and "jax" in meta["versions"] and "evosax" in meta["versions"]


@pytest.mark.slow
def test_a_killed_run_resumes_and_matches_an_uninterrupted_one(cartpole, tmp_path):
    full = lk.run_imp(cartpole, _trainer(), "final-ticket", seeds=[0], rounds=3, keep_ratio=0.5,
                      out_dir=tmp_path / "full", progress=False)
    part = tmp_path / "part"
    lk.run_imp(cartpole, _trainer(), "final-ticket", seeds=[0], rounds=2, keep_ratio=0.5, out_dir=part,
               progress=False)
    # simulate a kill in the middle of round 3: a half-written round directory without DONE
    (RunStore(part).round_dir(3)).mkdir(parents=True)
    (RunStore(part).round_dir(3) / "seed_0.msgpack").write_bytes(b"partial")
    before = (RunStore(part).round_dir(1) / "seed_0.msgpack").stat().st_mtime_ns
    resumed = lk.run_imp(cartpole, _trainer(), "final-ticket", seeds=[0], rounds=3, keep_ratio=0.5, out_dir=part,
                         progress=False)
    assert (RunStore(part).round_dir(1) / "seed_0.msgpack").stat().st_mtime_ns == before  # not retrained
    pd.testing.assert_frame_equal(resumed, full)  # seeded: same numbers as without the interruption
    a, b = lk.load_round(part, 0, 3), lk.load_round(tmp_path / "full", 0, 3)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_a_directory_of_another_configuration_is_refused(cartpole, tmp_path):
    lk.run_imp(cartpole, _trainer(), "final-ticket", seeds=[0], rounds=1, out_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="different configuration.*baseline"):
        lk.run_imp(cartpole, _trainer(), "sig2noise", seeds=[0], rounds=1, out_dir=tmp_path, progress=False)


def test_random_reinit_rounds_draw_new_masks(cartpole, tmp_path):
    lk.run_imp(cartpole, _trainer(), "random-reinit", seeds=[0], rounds=3, keep_ratio=0.5, out_dir=tmp_path,
               progress=False)
    m2, m3 = (np.asarray(masks.flat_prunable(lk.load_round(tmp_path, 0, r)["mask"])[0]) for r in (2, 3))
    assert m2.sum() == 2 * m3.sum() and np.any(m3 & ~m2)  # not nested: redrawn each round


def test_round_rows_average_each_seeds_validation_curve(cartpole):
    from lottery_kit.imp import round_rows

    curve = np.array([[100.0, 500.0, 500.0, 500.0], [20.0, 60.0, 300.0, 500.0]])   # both end at the cap
    rows = round_rows(cartpole, "SNES", "sig2noise", [0, 1], 2, 50, 100,
                      {"final_perf": [500.0, 500.0], "best_perf": [500.0, 500.0], "val_curve": curve})
    assert rows["val_curve_mean"].tolist() == [400.0, 220.0]         # the first seed learned faster
    assert rows["best_val"].isna().all() and rows["weights_remaining"].tolist() == [0.5, 0.5]


def test_a_resumed_run_keeps_the_versions_of_every_process(tmp_path, monkeypatch):
    """``versions`` stays the first process's; a process with other versions is appended under ``resumed`` with the
    rounds finished before it, once (a resume with the last recorded versions adds nothing)."""
    run, config = RunStore(tmp_path), {"task": "CartPole-v1", "baseline": "sig2noise", "seeds": [0]}
    record = lambda: json.loads((tmp_path / "config.json").read_text())  # noqa: E731
    run.claim(config)
    first = record()["versions"]
    assert first["jax"] and first["platform"]
    run.claim(config)
    assert record() == {"config": config, "versions": first}
    (tmp_path / "rounds" / "round_01").mkdir(parents=True)
    (tmp_path / "rounds" / "round_01" / "DONE").write_text("{}")
    upgraded = first | {"jax": "99.0", "lottery-kit_commit": "0" * 40}
    monkeypatch.setattr(store, "versions", lambda: upgraded)
    run.claim(config)
    run.claim(config)
    assert record() == {"config": config, "versions": first, "resumed": [{"rounds_done": 1, "versions": upgraded}]}
    monkeypatch.setattr(store, "versions", lambda: first)   # back on the first machine: a new entry
    run.claim(config)
    assert [r["versions"] for r in record()["resumed"]] == [upgraded, first]
