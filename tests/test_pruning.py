"""Pruning baselines on the paper's CNN with real data (scikit-learn digits)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery_kit import masks
from lottery_kit.pruning import BASELINES, RoundOutcome, snr_scores


def _fake_outcome(task, key, init, mask, rewind_point=None):
    """A trained-looking outcome: random means and stds on the kept weights, zero elsewhere; the rewind point is
    ``task``'s initialisation from key 7 unless given."""
    k1, k2 = jax.random.split(key)
    leaves = jax.tree_util.tree_leaves(init)
    mean = jax.tree_util.tree_map(lambda a, k: jax.random.normal(k, a.shape), init,
                                  jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(init),
                                                               list(jax.random.split(k1, len(leaves)))))
    std = jax.tree_util.tree_map(lambda a, k: jax.random.uniform(k, a.shape, minval=0.01, maxval=1.0), init,
                                 jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(init),
                                                              list(jax.random.split(k2, len(leaves)))))
    return RoundOutcome(init=init, mask=mask, final_mean=masks.apply(mean, mask), final_std=std,
                        best_mean=masks.apply(mean, mask), rewind_point=task.init_params(jax.random.key(7)) if rewind_point is None else rewind_point,
                        iterate_mean=masks.apply(mean, mask), iterate_std=std)


@pytest.mark.parametrize("baseline", sorted(BASELINES))
def test_exact_counts_over_20_rounds(digits, baseline):
    rule = BASELINES[baseline]
    dense = digits.init_params(jax.random.key(7))
    n = masks.num_prunable(dense)
    assert n == 11240  # the paper's CNN: 200 + 3200 + 7840 kernel weights
    init, mask = dense, masks.dense_mask(dense)
    for r in range(1, 21):
        assert int(masks.kept_count(mask)) == masks.target_kept(n, 0.8, r)
        # pruned weights are exactly zero in the weights the next round starts from
        for w, m in zip(jax.tree_util.tree_leaves(init), jax.tree_util.tree_leaves(mask)):
            assert np.all(np.asarray(w)[~np.asarray(m)] == 0)
        # biases are never pruned
        assert all(bool(jnp.all(m)) for m, p in zip(jax.tree_util.tree_leaves(mask),
                                                   jax.tree_util.tree_leaves(masks.prunable_tree(mask))) if not p)
        outcome = _fake_outcome(digits, jax.random.key(r), init, mask, rewind_point=dense)  # θ0: key 7 too
        init, mask = rule(jax.random.key(100 + r), outcome, masks.target_kept(n, 0.8, r + 1), digits)
    assert masks.target_kept(n, 0.8, 20) == round(11240 * 0.8**19)  # 1.44% of the weights


def test_sig2noise_ranks_by_snr_not_magnitude(digits):
    dense = digits.init_params(jax.random.key(1))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, masks.dense_mask(dense))
    n_keep = 3000
    _, mask = BASELINES["sig2noise"](jax.random.key(0), outcome, n_keep, digits)
    snr, _ = masks.flat_prunable(snr_scores(outcome.final_mean, outcome.final_std))
    kept, _ = masks.flat_prunable(mask)
    snr, kept = np.asarray(snr), np.asarray(kept)
    assert kept.sum() == n_keep
    assert snr[kept].min() >= snr[~kept].max()
    _, mag_mask = BASELINES["final-ticket"](jax.random.key(0), outcome, n_keep, digits)
    assert not np.array_equal(np.asarray(masks.flat_prunable(mag_mask)[0]), kept)  # a different ranking


def test_random_reinit_redraws_mask_and_weights(digits):
    dense = digits.init_params(jax.random.key(1))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, masks.dense_mask(dense))
    init_a, mask_a = BASELINES["random-reinit"](jax.random.key(10), outcome, 5000, digits)
    init_b, mask_b = BASELINES["random-reinit"](jax.random.key(11), outcome, 5000, digits)
    fa, fb = np.asarray(masks.flat_prunable(mask_a)[0]), np.asarray(masks.flat_prunable(mask_b)[0])
    assert fa.sum() == fb.sum() == 5000 and not np.array_equal(fa, fb)
    wa = np.asarray(masks.flat_prunable(init_a)[0])
    w0 = np.asarray(masks.flat_prunable(dense)[0])
    assert not np.allclose(wa[fa], w0[fa])  # fresh initialisation, not θ0


@pytest.mark.parametrize("baseline", ["final-ticket_permute", "final_permute-ticket_permute"])
def test_permutations_keep_layerwise_multiset(digits, baseline):
    dense = digits.init_params(jax.random.key(1))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, masks.dense_mask(dense))
    _, ticket = BASELINES["final-ticket"](jax.random.key(0), outcome, 4000, digits)
    init, mask = BASELINES[baseline](jax.random.key(3), outcome, 4000, digits)
    prunable = jax.tree_util.tree_leaves(masks.prunable_tree(dense))
    moved = False
    for p, w0, t, w, m in zip(prunable, *(jax.tree_util.tree_leaves(x) for x in (dense, ticket, init, mask))):
        w0, t, w, m = map(np.asarray, (w0, t, w, m))
        if not p:
            np.testing.assert_array_equal(w, w0)  # biases untouched
            continue
        assert m.sum() == t.sum()  # same count per layer
        np.testing.assert_array_equal(np.sort(w[m]), np.sort(w0[t]))  # same multiset of survivors
        assert np.all(w[~m] == 0)
        moved |= not np.array_equal(w[m], w0[t])
    assert moved
    if baseline.startswith("final_permute"):
        assert not np.array_equal(np.asarray(masks.flat_prunable(mask)[0]), np.asarray(masks.flat_prunable(ticket)[0]))


def test_grasp_keeps_the_smallest_scores(digits):
    dense = digits.init_params(jax.random.key(1))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, masks.dense_mask(dense))
    key = jax.random.key(5)
    _, mask = BASELINES["grasp"](key, outcome, 2000, digits)
    theta0 = outcome.rewind_point  # the one-shot rules score the dense θ0 of round 1
    grad_fn = jax.grad(lambda p: digits.loss(p, key, digits.data))
    g = grad_fn(theta0)
    _, hg = jax.jvp(grad_fn, (theta0,), (g,))
    score = -np.asarray(masks.flat_prunable(jax.tree_util.tree_map(lambda w, h: w * h, theta0, hg))[0])
    kept = np.asarray(masks.flat_prunable(mask)[0])
    assert score[kept].max() <= score[~kept].min() + 1e-6


def test_snip_needs_a_loss(cartpole):
    from lottery_kit import ConfigError

    dense = cartpole.init_params(jax.random.key(1))
    outcome = _fake_outcome(cartpole, jax.random.key(2), dense, masks.dense_mask(dense))
    with pytest.raises(ConfigError, match="vision task"):
        BASELINES["snip"](jax.random.key(0), outcome, 100, cartpole)


def _kept_kernels(tree, mask):
    """(values at the kept entries, sorted) of each kernel: the per-kernel multiset of kept values."""
    pr = jax.tree_util.tree_leaves(masks.prunable_tree(mask))
    return [np.sort(np.asarray(v)[np.asarray(m)]) for v, m, p in
            zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(mask), pr) if p]


def _half_mask(dense, key):
    """A mask keeping a random half of every kernel (biases kept)."""
    flat, unflat = masks.flat_prunable(masks.dense_mask(dense))
    keep = jax.random.uniform(key, flat.shape) < 0.5
    return unflat(keep, masks.dense_mask(dense))


def test_snr_shuffled_permutes_sigma_within_each_kernel(digits):
    from lottery_kit.pruning import SCORES

    dense = digits.init_params(jax.random.key(1))
    mask = _half_mask(dense, jax.random.key(3))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, mask)
    shuffled = SCORES["snr-shuffled"].fn(jax.random.key(4), outcome, digits)
    # σ' = |μ| / score at the kept entries: each kernel's kept σ values, in another order
    implied = jax.tree_util.tree_map(lambda m, s: jnp.abs(m) / s, outcome.final_mean, shuffled)
    for got, want in zip(_kept_kernels(implied, mask), _kept_kernels(outcome.final_std, mask)):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    snr = snr_scores(outcome.final_mean, outcome.final_std)
    kept = np.asarray(masks.flat_prunable(mask)[0])
    a, b = (np.asarray(masks.flat_prunable(t)[0])[kept] for t in (shuffled, snr))
    assert np.mean(a == b) < 0.05                     # which weight has which σ is lost
    again = SCORES["snr-shuffled"].fn(jax.random.key(5), outcome, digits)
    assert not np.array_equal(np.asarray(masks.flat_prunable(again)[0])[kept], a)   # redrawn with the key
    # with σ constant within each kernel, shuffling changes nothing: the ranking is SNR's
    flat_std = jax.tree_util.tree_map(lambda s: jnp.full_like(s, s.mean()), outcome.final_std)
    same = SCORES["snr-shuffled"].fn(jax.random.key(4), outcome.replace(final_std=flat_std), digits)
    np.testing.assert_allclose(np.asarray(masks.flat_prunable(same)[0])[kept],
                               np.asarray(masks.flat_prunable(snr_scores(outcome.final_mean, flat_std))[0])[kept],
                               rtol=1e-6)


def test_magnitude_layer_std_divides_by_each_kernels_mean_sigma(digits):
    from lottery_kit.pruning import SCORES

    dense = digits.init_params(jax.random.key(1))
    mask = _half_mask(dense, jax.random.key(3))
    outcome = _fake_outcome(digits, jax.random.key(2), dense, mask)
    # σ 10x larger in the first kernel than in the others: its weights rank 10x lower than by magnitude
    leaves, treedef = jax.tree_util.tree_flatten(outcome.final_std)
    pr = jax.tree_util.tree_leaves(masks.prunable_tree(mask))
    first = pr.index(True)
    leaves[first] = leaves[first] * 10.0
    std = jax.tree_util.tree_unflatten(treedef, leaves)
    scores = SCORES["magnitude-layer-std"].fn(None, outcome.replace(final_std=std), digits)
    for s, m, sd, k, p in zip(jax.tree_util.tree_leaves(scores), jax.tree_util.tree_leaves(outcome.final_mean),
                              leaves, jax.tree_util.tree_leaves(mask), pr):
        if p:
            level = np.asarray(sd)[np.asarray(k)].mean()
            np.testing.assert_allclose(np.asarray(s), np.abs(np.asarray(m)) / level, rtol=1e-5)
    # a baseline of it keeps exactly n_keep among the kept weights
    _, new_mask = BASELINES["magnitude-layer-std"](jax.random.key(0), outcome.replace(final_std=std), 2000, digits)
    assert int(masks.kept_count(new_mask)) == 2000
    assert not np.any(np.asarray(masks.flat_prunable(new_mask)[0]) & ~np.asarray(masks.flat_prunable(mask)[0]))
