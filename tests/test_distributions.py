"""Distribution distributions (global, layer-wise, ERK) with a per-layer minimum: exact totals, the distribution's
per-kernel rule, pruned weights never returning, and bad values refused up front."""

import jax
import numpy as np
import pytest

import lottery_kit as lk
from lottery_kit import masks
from lottery_kit.pruning import BASELINES, RoundOutcome, Distribution, apportion
from lottery_kit.pruning.distributions import kernel_shapes


def _outcome(key, init, mask, dense):
    leaves, treedef = jax.tree_util.tree_flatten(init)
    ks = jax.random.split(key, 2 * len(leaves))
    mean = jax.tree_util.tree_unflatten(treedef, [jax.random.normal(k, a.shape) for k, a in zip(ks, leaves)])
    std = jax.tree_util.tree_unflatten(treedef, [jax.random.uniform(k, a.shape, minval=0.01, maxval=1.0)
                                                 for k, a in zip(ks[len(leaves):], leaves)])
    return RoundOutcome(init=init, mask=mask, final_mean=masks.apply(mean, mask), final_std=std,
                        best_mean=masks.apply(mean, mask), rewind_point=dense)


def _counts(mask):
    return [int(np.asarray(m).sum()) for m, p in zip(jax.tree_util.tree_leaves(mask),
                                                      jax.tree_util.tree_leaves(masks.prunable_tree(mask))) if p]


def test_apportion_is_exact_bounded_and_proportional():
    k = apportion(np.array([100.0, 300.0, 600.0]), [100, 300, 600], 500)
    assert k == (50, 150, 300)
    k = apportion(np.array([1.0, 1.0, 1.0]), [10, 10, 10], 10)        # remainder to the earliest
    assert k == (4, 3, 3)
    k = apportion(np.array([1000.0, 1.0, 1.0]), [5, 100, 100], 50)    # a capped entry stays at its cap
    assert k[0] == 5 and sum(k) == 50 and abs(k[1] - k[2]) <= 1
    k = apportion(np.array([1000.0, 1.0]), [100, 100], 20, minimum=8)  # the minimum lifts the small one
    assert k == (12, 8)


@pytest.mark.parametrize("distribution", ["global", "layerwise", "erk"])
@pytest.mark.parametrize("baseline", ["final-ticket", "sig2noise", "random-reinit"])
def test_exact_counts_per_layer_over_8_rounds(digits, distribution, baseline):
    rule, spread = BASELINES[baseline], Distribution(distribution, min_per_layer=12)
    dense = digits.init_params(jax.random.key(7))
    shapes, n = kernel_shapes(dense), masks.num_prunable(dense)
    init, mask = dense, masks.dense_mask(dense)
    for r in range(1, 9):                           # keep ratio 0.6: down to 1.7 % of the weights
        n_keep = masks.target_kept(n, 0.6, r + 1)
        caps = [int(np.prod(s)) for s in shapes] if rule.from_dense else _counts(mask)
        counts = spread.layer_counts(shapes, caps, n_keep)
        new_init, new_mask = rule(jax.random.key(100 + r), _outcome(jax.random.key(r), init, mask, dense), n_keep,
                                  digits, counts=counts, min_per_layer=spread.min_per_layer)
        got = _counts(new_mask)
        assert sum(got) == n_keep == int(masks.kept_count(new_mask))
        assert min(got) >= min(12, min(caps))                             # no layer collapses
        if counts is not None:
            assert tuple(got) == counts
        if not rule.from_dense:                                           # pruned weights never come back
            for old, new in zip(jax.tree_util.tree_leaves(mask), jax.tree_util.tree_leaves(new_mask)):
                assert not np.any(np.asarray(new) & ~np.asarray(old))
        for w, m in zip(jax.tree_util.tree_leaves(new_init), jax.tree_util.tree_leaves(new_mask)):
            assert np.all(np.asarray(w)[~np.asarray(m)] == 0)
        init, mask = new_init, new_mask


def test_layerwise_keeps_the_same_fraction_of_every_kernel(digits):
    dense = digits.init_params(jax.random.key(7))
    shapes = kernel_shapes(dense)
    sizes = [int(np.prod(s)) for s in shapes]       # 200, 3200, 7840
    counts = Distribution("layerwise").layer_counts(shapes, sizes, 2810)
    assert sum(counts) == 2810
    for c, s in zip(counts, sizes):
        assert abs(c - 2810 * s / sum(sizes)) < 1.0


def test_erk_density_follows_the_kernel_shapes(digits):
    dense = digits.init_params(jax.random.key(7))
    shapes = kernel_shapes(dense)                   # (5,5,1,8), (5,5,8,16), (784,10)
    sizes = np.array([np.prod(s) for s in shapes], float)
    for power in (1.0, 0.5):
        raw = np.array([sum(s) / np.prod(s) for s in shapes]) ** power
        counts = np.array(Distribution("erk", power=power).layer_counts(shapes, sizes.astype(int), 1000))
        assert counts.sum() == 1000
        free = counts < sizes                        # kernels not held at what they have
        eps = (1000 - counts[~free].sum()) / (raw[free] * sizes[free]).sum()
        np.testing.assert_allclose(counts[free], eps * raw[free] * sizes[free], atol=1.0)
        assert np.all(eps * raw[~free] >= 1.0)       # the capped kernels would exceed density 1
    capped = Distribution("erk").layer_counts(shapes, sizes.astype(int), 10000)
    assert capped == (200, 1960, 7840)               # first conv and dense layer would exceed density 1: kept whole


@pytest.mark.parametrize("kwargs, message", [
    (dict(distribution="erdos"), "unknown distribution 'erdos'; valid distribution names: erk, global, layerwise"),
    (dict(distribution="erk", erk_power=0.0), "erk_power=0.0 is out of range"),
    (dict(distribution="erk", erk_power=-1.0), "ERK's power scale must be positive"),
    (dict(min_per_layer=-1), "min_per_layer=-1 is out of range"),
    (dict(min_per_layer=100, rounds=21), "min_per_layer=100 needs 300 kept weights over the 3 kernels, but the last "
                                         "round keeps only"),
])
def test_bad_distribution_settings_are_refused_before_any_work(tmp_path, kwargs, message):
    settings = dict(rounds=2) | kwargs
    with pytest.raises(lk.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lk.run_es_imp(task="digits", strategy="SNES", baseline="final-ticket", seeds=[0],
                      rounds=settings.pop("rounds"), keep_ratio=0.8, generations=2, popsize=4, eval_every=1,
                      out_dir=tmp_path / "x",
                      progress=False, **settings)
    assert not (tmp_path / "x" / "rounds").exists()


def test_an_imp_run_keeps_the_distributions_counts_and_records_it(cartpole, tmp_path):
    trainer = lk.ESTrainer("SNES", popsize=8, generations=2, eval_every=2, progress=False)
    spread = Distribution("erk", min_per_layer=4)
    rows = lk.run_imp(cartpole, trainer, "sig2noise", seeds=[0, 1], rounds=4, keep_ratio=0.5, distribution=spread,
                      out_dir=tmp_path / "run", progress=False)
    assert sorted(rows["kept_weights"].unique()) == [560, 1120, 2240, 4480]
    shapes = kernel_shapes(cartpole.init_params(jax.random.key(0)))
    expected = [int(np.prod(s)) for s in shapes]
    for r in range(2, 5):
        expected = list(spread.layer_counts(shapes, expected, masks.target_kept(4480, 0.5, r)))
        for seed in (0, 1):
            assert _counts(lk.load_round(tmp_path / "run", seed, r)["mask"]) == expected
    config = lk.load_config(tmp_path / "run")["config"]
    assert (config["distribution"], config["erk_power"], config["min_per_layer"]) == ("erk", 1.0, 4)


@pytest.mark.parametrize("trainer, task, distribution", [
    (lambda: lk.AdamTrainer(epochs=1, batch_size=512, rewind_step=1, progress=False), "digits", "layerwise"),
    (lambda: lk.PPOTrainer(total_steps=2048, num_envs=4, num_steps=64, n_evals=2, rewind_step=4, progress=False),
     "cartpole", "erk"),
])
def test_gradient_descent_runs_keep_every_distributions_counts_from_a_late_rewind_point(trainer, task, distribution,
                                                                                       request, tmp_path):
    """The IMP driver spreads the count the same way whatever trains the round: Adam and PPO as the ES above."""
    task = request.getfixturevalue(task)
    spread = Distribution(distribution)
    rows = lk.run_imp(task, trainer(), "final-ticket", seeds=[0], rounds=3, keep_ratio=0.5, distribution=spread,
                      out_dir=tmp_path / "run", progress=False)
    shapes = kernel_shapes(task.init_params(jax.random.key(0)))
    expected = [int(np.prod(s)) for s in shapes]
    total = sum(expected)
    rewind = lk.load_round(tmp_path / "run", 0, 1)["rewind"]
    for r in range(2, 4):
        expected = list(spread.layer_counts(shapes, expected, masks.target_kept(total, 0.5, r)))
        kept = lk.load_round(tmp_path / "run", 0, r)
        assert _counts(kept["mask"]) == expected
        assert rows.loc[rows["round"] == r, "kept_weights"].item() == sum(expected) == masks.target_kept(total, 0.5, r)
        for w, theta_k, m in zip(*(jax.tree_util.tree_leaves(t) for t in (kept["init"], rewind, kept["mask"]))):
            np.testing.assert_array_equal(np.asarray(w), np.asarray(theta_k) * np.asarray(m))   # rewound to θ_k
