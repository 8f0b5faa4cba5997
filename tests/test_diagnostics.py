"""Search-distribution diagnostics: agreement of SNR and magnitude pruning, σ's spread, the mean's travel."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import diagnostics, masks
from lottery_kit.pruning import RoundOutcome


def outcome(std_fn, seeds=2):
    """A seed-stacked outcome of a small two-layer network: random means, σ from ``std_fn(key, shape)``."""
    def tree(key):
        k1, k2 = jax.random.split(key)
        return {"a": {"kernel": jax.random.normal(k1, (20, 10)), "bias": jnp.zeros(10)},
                "b": {"kernel": jax.random.normal(k2, (10, 5)), "bias": jnp.zeros(5)}}
    keys = jax.random.split(jax.random.key(3), 3 * seeds).reshape(3, seeds)
    init = jax.vmap(tree)(keys[0])
    mean = jax.vmap(tree)(keys[1])
    std = jax.vmap(lambda k: jax.tree_util.tree_map(lambda a: std_fn(k, a.shape), tree(k)))(keys[2])
    mask = jax.vmap(masks.dense_mask)(init)
    return RoundOutcome(init=init, mask=mask, final_mean=mean, final_std=std, best_mean=mean, rewind_point=init)


def test_uniform_sigma_makes_the_rules_agree_exactly():
    out = outcome(lambda k, s: jnp.full(s, 0.07))
    d = diagnostics.search_distribution(out, n_keep=200)
    np.testing.assert_array_equal(d["snr_magnitude_agreement"], [1.0, 1.0])
    np.testing.assert_allclose(d["sigma_cv"], 0.0, atol=1e-6)
    np.testing.assert_allclose(d["sigma_q95_q05"], 1.0, atol=1e-6)


def test_sigma_spread_across_weights_separates_the_rules():
    out = outcome(lambda k, s: jnp.exp(jax.random.normal(k, s)))  # log-normal σ: CV about 1.3
    d = diagnostics.search_distribution(out, n_keep=50)
    assert np.all(d["snr_magnitude_agreement"] < 0.9)
    assert np.all(d["sigma_cv"] > 0.8)
    assert np.all(d["sigma_q95_q05"] > 10)
    # The agreement counts exactly: both rules' kept sets computed by hand.
    one = jax.tree_util.tree_map(lambda a: a[0], out)
    mu, _ = masks.flat_prunable(one.final_mean)
    sd, _ = masks.flat_prunable(one.final_std)
    top = lambda s: set(np.argsort(-np.asarray(s), kind="stable")[:50])
    expected = len(top(np.abs(mu)) & top(np.abs(mu) / sd)) / 50
    assert d["snr_magnitude_agreement"][0] == pytest.approx(expected)


def test_mean_travel_is_relative_to_the_rounds_start():
    out = outcome(lambda k, s: jnp.ones(s))
    out = out.replace(final_mean=jax.tree_util.tree_map(lambda a: 1.5 * a, out.init))
    np.testing.assert_allclose(diagnostics.search_distribution(out, 100)["mean_travel"], 0.5, rtol=1e-6)


def test_no_search_distribution_gives_nan():
    out = outcome(lambda k, s: jnp.ones(s)).replace(final_std=None)
    d = diagnostics.search_distribution(out, 100)
    assert all(np.isnan(v).all() for v in d.values())


def test_es_runs_write_the_diagnostics_and_the_note(cartpole, tmp_path):
    rows = lk.run_imp(cartpole, lk.ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False),
                      "sig2noise", seeds=[0, 1], rounds=2, keep_ratio=0.5, out_dir=tmp_path, progress=False)
    stored = pd.read_parquet(tmp_path / "results.parquet")
    for col in diagnostics.COLUMNS:
        assert stored[col].notna().all()
    assert stored["snr_magnitude_agreement"].between(0, 1).all()
    # Four generations barely move σ: the rules keep nearly the same weights and the notebook says so.
    assert stored["snr_magnitude_agreement"].min() > 0.95
    assert "cannot separate them" in diagnostics.same_weights_note(rows)
    assert diagnostics.same_weights_note(rows.assign(snr_magnitude_agreement=0.5)) is None


def test_trajectory_records_the_distribution_the_round_ends_with(cartpole, keys):
    """``trajectory=True`` (the budget table's checkpoints) records μ and σ after every eval block, the last equal to
    the round's outcome, and changes nothing the round computes."""
    init = cartpole.init_params_batch(keys)
    mask = jax.vmap(masks.dense_mask)(init)
    settings = dict(popsize=8, generations=6, eval_every=2, progress=False)
    plain, _ = lk.ESTrainer("SNES", **settings)(cartpole, init, mask, keys, init)
    recorded, metrics = lk.ESTrainer("SNES", trajectory=True, **settings)(cartpole, init, mask, keys, init)
    for name, final in (("mean", recorded.final_mean), ("std", recorded.final_std)):
        path = metrics[f"{name}_trajectory"]
        assert jax.tree_util.tree_leaves(path)[0].shape[:2] == (2, 3)   # seeds, blocks
        for a, b in zip(jax.tree_util.tree_leaves(path), jax.tree_util.tree_leaves(final)):
            np.testing.assert_array_equal(a[:, -1], b)
        first, last = (jax.tree_util.tree_leaves(path)[0][:, i] for i in (0, -1))
        assert not np.array_equal(first, last)   # the distribution moved between blocks
    for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(recorded)):
        np.testing.assert_array_equal(a, b)
