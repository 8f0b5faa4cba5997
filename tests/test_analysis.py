"""Analyses: connectivity, flatness and SNR dynamics on real networks and on cases with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lottery_kit as lk
from lottery_kit import analysis, masks
from lottery_kit.analysis import dynamics

pytestmark = pytest.mark.xdist_group("analysis")  # one worker: one trained pair of networks


@pytest.fixture(scope="module")
def trained(digits):
    keys = jax.random.split(jax.random.key(0), 2)
    init = digits.init_params_batch(keys)
    outcome, _ = lk.AdamTrainer(epochs=10, batch_size=64, progress=False)(digits, init, jax.vmap(masks.dense_mask)(init),
                                                                        keys, init)
    return [jax.tree_util.tree_map(lambda a, i=i: a[i], outcome.final_mean) for i in range(2)]


def test_population_scores_equal_the_tasks_own_evaluation_and_flaxs(digits, trained):
    """Stacked networks are scored as one population of the CNN kernel; each score equals the task's own
    evaluation of that network alone and the accuracy of the flax module's forward pass."""
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trained)
    many = analysis.score_many(digits, stacked)
    x, y = digits.data["x_test"], digits.data["y_test"]
    for i, params in enumerate(trained):
        assert abs(float(many[i]) - float(digits.evaluate(params, None, digits.data, None, "test"))) < 1e-6
        assert abs(float(many[i]) - float(jnp.mean(jnp.argmax(digits.network.apply(params, x), -1) == y))) < 1e-6
    assert np.all(np.asarray(many) > 0.8)  # trained networks, not chance


def test_the_line_between_two_networks_and_its_barrier(digits, trained):
    a, b = trained
    line = analysis.interpolate(a, b, [0.0, 0.5, 1.0])
    for x, y, z in zip(*(jax.tree_util.tree_leaves(t) for t in (line, a, b))):
        np.testing.assert_array_equal(x[0], y)
        np.testing.assert_array_equal(x[2], z)
        np.testing.assert_allclose(x[1], (y + z) / 2, rtol=1e-6)
    same = analysis.linear_path(digits, a, a)
    assert same["barrier"] < 1e-6 and len(set(same["scores"])) == 1
    path = analysis.linear_path(digits, a, b)  # independent inits: a real valley between them
    assert path["scores"][0] > 0.8 and path["barrier"] > 0.1 and min(path["scores"]) < path["scores"][0] - 0.1
    assert float(analysis.barrier(jnp.array([0.8, 0.5, 0.6]), jnp.array([0.0, 0.5, 1.0]))) == pytest.approx(0.2)
    assert float(analysis.barrier(jnp.array([0.5, 0.9, 0.7]), jnp.array([0.0, 0.5, 1.0]))) == 0.0


@pytest.mark.slow
def test_flatness_perturbs_only_kept_weights(digits, trained):
    params = trained[0]
    mask = masks.random_mask(jax.random.key(1), params, 3000)
    params = masks.apply(params, mask)
    copies = analysis.flatness.perturb(params, mask, jax.random.key(2), (0.0, 0.1), 4)
    for w, m in zip(jax.tree_util.tree_leaves(copies), jax.tree_util.tree_leaves(mask)):
        assert np.all(np.asarray(w)[:, ~np.asarray(m)] == 0)
    dense = masks.dense_mask(trained[0])
    out = analysis.perturbation_scores(digits, trained[0], dense, jax.random.key(3), radii=(0.0, 0.05, 0.5), n_samples=4)
    exact = float(digits.evaluate(trained[0], None, digits.data, None, "test"))
    assert out["mean"][0] == pytest.approx(exact) and out["std"][0] == 0.0
    assert out["mean"][2] < out["mean"][0] - 0.2  # large noise destroys the network


def test_spearman_matches_scipy_over_the_masked_entries():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    b = 0.6 * a + b
    mask = rng.random(500) < 0.4
    want = stats.spearmanr(a[mask], b[mask]).statistic
    assert float(analysis.spearman(jnp.asarray(a), jnp.asarray(b), jnp.asarray(mask))) == pytest.approx(want, abs=1e-6)
    assert float(analysis.spearman(jnp.asarray(a), jnp.asarray(a) ** 3)) == pytest.approx(1.0)


def test_rank_correlations_and_thresholds_follow_the_pruning():
    rng = np.random.default_rng(1)
    n, rounds = 1000, 4
    scores = np.abs(rng.normal(size=(rounds, n))).astype(np.float32)
    round_masks = [np.ones(n, bool)]
    for r in range(1, rounds):  # keep the upper half of last round's scores among the survivors, like IMP
        alive = round_masks[-1]
        cut = np.sort(scores[r - 1][alive])[::-1][alive.sum() // 2 - 1]
        round_masks.append(alive & (scores[r - 1] >= cut))
    round_masks = np.stack(round_masks)
    corr = np.asarray(analysis.rank_correlations(scores, round_masks))
    assert corr.shape == (rounds,) and corr[0] == pytest.approx(1.0) and np.all(np.abs(corr[1:]) < 0.2)  # independent
    both = np.asarray(analysis.rank_correlations(np.stack([scores, scores]), np.stack([round_masks, round_masks])))
    np.testing.assert_allclose(both, np.stack([corr, corr]), rtol=1e-6)
    thresholds = np.asarray(analysis.pruning_thresholds(scores, round_masks))
    for r in range(rounds - 1):
        kept, dropped = round_masks[r + 1], round_masks[r] & ~round_masks[r + 1]
        assert scores[r][kept].min() == thresholds[r] and scores[r][dropped].max() <= thresholds[r]


def test_layer_statistics_and_the_normalised_gain(trained):
    params = trained[0]
    mask = masks.random_mask(jax.random.key(4), params, 5620)
    table = analysis.layer_statistics(masks.apply(params, mask), mask)
    assert table["layer"].tolist() == ["Conv_0", "Conv_1", "Dense_0"] and table["weights"].sum() == 11240
    assert int((table["weights"] * table["kept_fraction"]).round().sum()) == 5620 and (table["mean_abs"] > 0).all()
    results = pd.DataFrame({"task": ["t"] * 4, "round": [1, 1, 2, 2], "weights_remaining": [1.0, 1.0, 0.5, 0.5],
                            "baseline": ["sig2noise", "final-ticket"] * 2, "best_perf": [0.9, 0.9, 0.8, 0.5]})
    gain = analysis.normalised_gain(results)
    assert gain["normalised_gain"].tolist() == pytest.approx([0.0, 0.75])  # 0.3 of the range 0.4


def test_weight_scores_are_what_the_rules_rank_by(trained):
    art = {"final_mean": trained[0], "final_std": jax.tree_util.tree_map(lambda a: jnp.full_like(a, 0.5), trained[0])}
    np.testing.assert_allclose(dynamics.weight_scores(art, "sig2noise"), 2 * jnp.abs(dynamics.flat(trained[0])))
    np.testing.assert_allclose(dynamics.weight_scores(art, "final-ticket"), jnp.abs(dynamics.flat(trained[0])))


def test_paired_difference_pairs_by_seed_with_bootstrap_ci_and_wilcoxon():
    import pandas as pd

    from lottery_kit.analysis import paired_difference

    rows = []
    for seed, (snr, mag) in enumerate([(5.0, 4.0), (7.0, 5.0), (3.0, 0.0), (9.0, 5.0), (6.0, 1.0)]):
        rows += [{"task": "t", "round": 2, "seed": seed, "baseline": "sig2noise", "best_perf": snr,
                  "weights_remaining": 0.5},
                 {"task": "t", "round": 2, "seed": seed, "baseline": "final-ticket", "best_perf": mag,
                  "weights_remaining": 0.5}]
    out = paired_difference(pd.DataFrame(rows)).iloc[0]
    assert out["seeds"] == 5 and out["mean_difference"] == 3.0            # differences 1, 2, 3, 4, 5
    assert 1.0 <= out["ci_low"] < 3.0 < out["ci_high"] <= 5.0
    assert out["wilcoxon_p"] == 0.0625                                     # exact: all five positive, 2 / 2**5
    assert out["normalised_difference"] == 3.0 / 9.0                       # joint range 0 .. 9
    assert out["seeds_same_sign"] == 5
    # Student's t: 3 ± t(0.975, 4) · sd / √5, sd of 1..5 = √2.5 (so the half width is 2.776 · 0.7071)
    assert out[["t_low", "t_high"]].tolist() == pytest.approx([3.0 - 1.9632, 3.0 + 1.9632], abs=1e-3)
    assert out["t_low"] < out["ci_low"]                                    # five seeds: the bootstrap is narrower


def test_paired_difference_counts_the_seeds_that_share_the_mean_differences_sign_and_those_tied():
    import pandas as pd

    from lottery_kit.analysis import paired_difference

    def count(differences):
        rows = [{"task": "t", "round": 2, "seed": s, "baseline": b, "best_perf": v, "weights_remaining": 0.5}
                for s, d in enumerate(differences) for b, v in (("sig2noise", d), ("final-ticket", 0.0))]
        return tuple(paired_difference(pd.DataFrame(rows))[["seeds_same_sign", "seeds_tied"]].iloc[0])

    assert count([-1.0, -2.0, 0.5]) == (2, 0)     # mean negative; two seeds below zero
    assert count([3.0, -1.0, 0.0]) == (1, 1)      # a zero counts for neither side, and is a tie
    assert count([1.0, -1.0]) == (0, 0)           # no mean sign, no agreement
    assert count([0.0, 0.0, 0.0]) == (0, 3)       # both at a cap in every seed: nothing can separate them


def test_pooled_difference_averages_each_seeds_rounds_before_comparing_seeds():
    import pandas as pd

    from lottery_kit.analysis import paired_difference, pooled_difference

    # SNR − magnitude of seed s in round r: alternating ±3 around a mean of 1 + s / 10; round 4 lacks seed 4's SNR
    diffs = {(s, r): 1 + s / 10 + (3 if r % 2 else -3) for s in range(5) for r in range(1, 5)}
    rows = [{"task": "t", "round": r, "seed": s, "baseline": b, "best_perf": v, "weights_remaining": 0.8 ** (r - 1)}
            for (s, r), d in diffs.items() for b, v in (("sig2noise", d), ("final-ticket", 0.0))
            if not (b == "sig2noise" and (s, r) == (4, 4))]
    out = pooled_difference(pd.DataFrame(rows), 2, 9).iloc[0]
    assert out["rounds"] == "2-3" and out["seeds"] == 5        # round 4 is incomplete, rounds 1 and 5+ out of range
    assert out["mean_difference"] == pytest.approx(1.2)         # the ±3 cancel within each seed
    assert out["weights_remaining"] == pytest.approx(0.64)
    assert out["wilcoxon_p"] == 0.0625 and out["seeds_same_sign"] == 5 and out["ci_low"] > 1.0
    single = paired_difference(pd.DataFrame(rows)).set_index("round")
    assert single.loc[2, "ci_low"] < 0 < single.loc[3, "ci_low"]   # one round alone: its noise decides the sign


def test_trainable_until_finds_the_last_round_before_a_ticket_collapses():
    import pandas as pd

    from lottery_kit.analysis import paired_statistics, trainable_until

    # dense -150, collapse -800 (the worst score): A collapses at round 4 in seed 0, at 5 in seed 1; B at 6, and never
    scores = {("A", 0): [-150, -160, -170, -700, -800], ("A", 1): [-150, -140, -200, -300, -790, -800],
              ("B", 0): [-150, -150, -160, -170, -200, -760], ("B", 1): [-150, -150, -150, -160, -170, -180]}
    rows = [{"task": "t", "baseline": b, "seed": s, "round": r + 1, "best_perf": v, "weights_remaining": 0.8 ** r}
            for (b, s), vals in scores.items() for r, v in enumerate(vals)]
    out = trainable_until(pd.DataFrame(rows), floors={"t": -475}).set_index(["baseline", "seed"])
    # the floor -475: -300 still trains, -700 does not
    assert out["round"].to_dict() == {("A", 0): 3, ("A", 1): 4, ("B", 0): 5, ("B", 1): 6}
    # an absolute floor: a run that joins the table with far worse scores moves no other run's round
    worse = rows + [{"task": "t", "baseline": "C", "seed": 0, "round": r, "best_perf": -5000.0,
                     "weights_remaining": 0.8 ** (r - 1)} for r in (1, 2)]
    again = trainable_until(pd.DataFrame(worse), floors={"t": -475}).set_index(["baseline", "seed"])
    assert again.drop(index="C")["round"].to_dict() == out["round"].to_dict()
    assert out["censored"].to_dict() == {("A", 0): False, ("A", 1): False, ("B", 0): False, ("B", 1): True}
    assert out.loc[("A", 0), "weights_remaining"] == pytest.approx(0.64)
    stats = paired_statistics(out.loc["B", "round"] - out.loc["A", "round"])
    assert stats["mean_difference"] == 2.0 and stats["seeds_same_sign"] == 2 and stats["seeds"] == 2


def test_gain_against_agreement_pairs_round_r_with_the_outcome_it_was_chosen_from():
    results = pd.DataFrame({"task": ["t"] * 6, "round": [1, 1, 2, 2, 3, 3], "weights_remaining": [1, 1, .5, .5, .25, .25],
                            "baseline": ["sig2noise", "final-ticket"] * 3, "best_perf": [0.9, 0.9, 0.8, 0.5, 0.7, 0.7]})
    diag = pd.DataFrame({"task": ["t"] * 4, "round": [1, 1, 2, 3], "seed": [0, 1, 0, 0],
                         "snr_magnitude_agreement": [0.9, 0.7, 0.95, 0.5]})
    out = analysis.gain_against_agreement(results, diag)
    assert out["round"].tolist() == [2, 3]                                  # round 1 has no earlier outcome
    assert out["snr_magnitude_agreement"].tolist() == pytest.approx([0.8, 0.95])   # round 1's mean over seeds, round 2's
    assert out["normalised_gain"].tolist() == pytest.approx([0.75, 0.0])
