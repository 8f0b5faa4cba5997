"""lottery_kit.analysis.stats against values known by hand or fixed by the design."""

import itertools

import numpy as np
import pandas as pd
import pytest

from lottery_kit.analysis import stats


def test_sign_flip_is_exact_on_small_cases():
    # sums of ±1 ±2 ±3: 6, 4, 2, 0, 0, -2, -4, -6; only +6 reaches the observed 6
    assert stats.sign_flip_test([1, 2, 3], alternative="greater") == pytest.approx(1 / 8)
    assert stats.sign_flip_test([1, 2, 3]) == pytest.approx(2 / 8)
    # five seeds of one sign: the two-sided floor 2 / 2^5
    assert stats.sign_flip_test([3, 1, 4, 1, 5]) == pytest.approx(0.0625)
    # [1, -1, 2]: sums 2, 0, 4, 2, -2, -4, 0, -2 -> |sum| >= 2 in 6 of 8
    assert stats.sign_flip_test([1, -1, 2]) == pytest.approx(6 / 8)
    assert stats.sign_flip_test([0, 0, 0]) == 1.0


def test_sign_flip_matches_a_brute_force_enumeration():
    d = np.array([2.1, -0.4, 1.3, 0.8, -1.1, 2.5, 0.2, 1.7, -0.3, 0.9])
    signs = np.array(list(itertools.product([-1, 1], repeat=d.size)))
    brute = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)
    assert stats.sign_flip_test(d) == pytest.approx(brute)


def test_exact_sign_flip_pvalues_are_sign_flip_tests_p_row_by_row():
    rng = np.random.default_rng(3)
    rows = [rng.normal(0.5, 1.0, 9) for _ in range(8)]
    rows += [np.array([1, -1, 2, 0, 3, -2, 1, 1, 2], float), np.zeros(9), np.array([3, 1, 4, 1, 5, 9, 2, 6, 5.0])]
    expected = [stats.sign_flip_test(r) for r in rows]
    assert stats.exact_sign_flip_pvalues(np.array(rows)) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="1 to 20 seeds; got 21"):
        stats.exact_sign_flip_pvalues(np.ones((1, 21)))


def test_sign_flip_power_is_the_size_at_no_effect_and_the_plans_power_at_its_effects():
    # five seeds cannot reject at 0.05, whatever the effect: the two-sided floor is 2 / 2^5
    assert stats.sign_flip_power(10.0, 1.0, 5) == 0.0
    # an exact test at 15 seeds keeps its size (below alpha: the null distribution is discrete)
    assert 0.035 <= stats.sign_flip_power(0.0, 1.0, 15) <= 0.055
    # the pre-registration's power statement: about 70 % at d_z 0.7 and about 95 % at d_z 1.0, 15 seeds
    assert 0.65 <= stats.sign_flip_power(0.7, 1.0, 15) <= 0.77
    assert 0.92 <= stats.sign_flip_power(1.0, 1.0, 15) <= 0.98
    # only the standardised effect matters
    assert stats.sign_flip_power(70.0, 100.0, 15) == stats.sign_flip_power(0.7, 1.0, 15)


def test_sign_flip_refuses_a_difference_that_is_not_finite():
    for bad in ([1.0, np.nan, 2.0], [1.0, np.inf, 2.0]):
        with pytest.raises(ValueError, match="finite differences"):
            stats.sign_flip_test(bad)


def test_holm_steps_down():
    out = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, then the running maximum
    assert out["p_holm"].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert out["reject"].tolist() == [True, False, False, True]


def test_equivalence_inside_and_outside_the_margin():
    close = stats.equivalence([10, -20, 5, 15, -5], margin=100)
    assert close["equivalent"] and -100 < close["low"] < close["high"] < 100
    far = stats.equivalence([150, 80, 120, 200, 90], margin=100)
    assert not far["equivalent"] and far["high"] > 100
    # the interval is the 90 % t interval: mean ± t(0.95, 4) · sd / sqrt(5)
    d = np.array([10, -20, 5, 15, -5], float)
    assert close["high"] - d.mean() == pytest.approx(2.131847 * d.std(ddof=1) / np.sqrt(5), rel=1e-5)


def test_equivalence_verdict_names_a_small_difference_as_both():
    # inside ±100 at 90 % and away from 0 at 95 %: a difference smaller than the margin, not "a tie"
    both = stats.equivalence_verdict([50, 45, 55, 60, 40], margin=100)
    assert both["verdict"] == "better, within the margin" and both["t_low"] > 0 and both["high"] < 100
    # t(4) = mean / (sd / sqrt 5) = 50 / (7.9057 / 2.2361) = 14.142 -> two-sided p
    from scipy.stats import t
    assert both["t_p"] == pytest.approx(2 * t.sf(50 / (np.std([50, 45, 55, 60, 40], ddof=1) / np.sqrt(5)), 4))
    assert stats.equivalence_verdict([-50, -45, -55, -60, -40], margin=100)["verdict"] == "worse, within the margin"
    assert stats.equivalence_verdict([10, -20, 5, 15, -5], margin=100)["verdict"] == "tie"
    assert stats.equivalence_verdict([-150, -180, -120, -200, -160], margin=100)["verdict"] == "worse"
    assert stats.equivalence_verdict([300, -250, 20, 400, -100], margin=100)["verdict"] == "inconclusive"
    # the 90 % interval touching the margin is not inside it: [60, 95, 80, 110, 70] reaches +101.9
    assert stats.equivalence_verdict([60, 95, 80, 110, 70], margin=100)["verdict"] == "better"
    for bad in ([30], [30, np.nan, 40, 50, 60]):   # one seed, or a failed run: no verdict
        with pytest.raises(ValueError, match="two or more finite differences"):
            stats.equivalence_verdict(bad, margin=100)


def _design(effect, seeds=6, streams=2, rng=None):
    """A balanced table: every (seed, stream) has both rules over rounds 12-21; SNR = magnitude + effect + noise."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        seed_level = rng.normal(0, 50)
        for k in range(streams):
            stream_level = rng.normal(0, 20)
            for r in range(12, 22):
                base = -500 + seed_level + stream_level + rng.normal(0, 10)
                rows.append({"seed": s, "training_replicate": k, "round": r, "baseline": "final-ticket",
                             "best_perf": base})
                rows.append({"seed": s, "training_replicate": k, "round": r, "baseline": "sig2noise",
                             "best_perf": base + effect + rng.normal(0, 30)})
    return pd.DataFrame(rows)


def test_seed_differences_average_rounds_then_streams():
    table = _design(40.0)
    d = stats.seed_differences(table, "sig2noise", "final-ticket", 12, 21)
    one = table[(table["seed"] == 2) & (table["training_replicate"] == 1)].pivot(index="round", columns="baseline",
                                                                                  values="best_perf")
    row = d.set_index("seed").loc[2]
    assert row["stream_1"] == pytest.approx((one["sig2noise"] - one["final-ticket"]).mean())
    assert row["difference"] == pytest.approx((row["stream_0"] + row["stream_1"]) / 2)
    with pytest.raises(ValueError, match=r"incomplete for \(seed, stream\) \[\(0, 1\)\]"):
        stats.seed_differences(table.drop(table[(table["seed"] == 0) & (table["training_replicate"] == 1)
                                                & (table["round"] == 15)].index), "sig2noise", "final-ticket", 12, 21)


def test_seed_differences_refuse_a_run_given_twice_and_seeds_of_unequal_streams():
    table = _design(40.0)
    twice = pd.concat([table, table[(table["seed"] == 3) & (table["baseline"] == "sig2noise")]])
    with pytest.raises(ValueError, match=r"share a \(baseline, seed, training_replicate, round\).*two runs of one arm"):
        stats.seed_differences(twice, "sig2noise", "final-ticket", 12, 21)
    with pytest.raises(ValueError, match="two runs of one arm"):
        stats.mixed_model(twice, "sig2noise", "final-ticket", 12, 21)
    # cells made before noise streams were recorded have no stream (NaN once collected beside newer ones): stream 0
    unrecorded = table.astype({"training_replicate": float})
    unrecorded.loc[unrecorded["training_replicate"] == 0, "training_replicate"] = np.nan
    pd.testing.assert_frame_equal(stats.seed_differences(unrecorded, "sig2noise", "final-ticket", 12, 21),
                                  stats.seed_differences(table, "sig2noise", "final-ticket", 12, 21))
    one_stream = table.drop(table[(table["seed"] == 4) & (table["training_replicate"] == 1)].index)
    with pytest.raises(ValueError, match=r"same noise streams: .*seed 4: \[0\]"):
        stats.seed_differences(one_stream, "sig2noise", "final-ticket", 12, 21)
    # a seed or a stream missing from every arm leaves a table that looks whole: the design's seeds and streams
    design = {"seeds": range(6), "streams": [0, 1]}
    assert len(stats.seed_differences(table, "sig2noise", "final-ticket", 12, 21, **design)) == 6
    with pytest.raises(ValueError, match=r"the design has seeds \[0, 1, 2, 3, 4, 5\], rounds 12-21 have "
                                         r"\[0, 1, 2, 3, 5\]"):
        stats.seed_differences(table[table["seed"] != 4], "sig2noise", "final-ticket", 12, 21, **design)
    with pytest.raises(ValueError, match=r"the design has streams \[0, 1\], rounds 12-21 have \[0\]"):
        stats.seed_differences(table[table["training_replicate"] == 0], "sig2noise", "final-ticket", 12, 21,
                               **design)


def test_mixed_model_estimates_the_paired_difference_of_a_balanced_design():
    table = _design(40.0)
    fit = stats.mixed_model(table, "sig2noise", "final-ticket", 12, 21)
    d = stats.seed_differences(table, "sig2noise", "final-ticket", 12, 21)
    # balanced: the fixed effect of the rule is the mean paired difference, whatever the variance components
    assert fit["coefficient"] == pytest.approx(d["difference"].mean(), abs=1e-6)
    assert fit["low"] < fit["coefficient"] < fit["high"] and fit["p"] < 0.05
    assert (fit["seeds"], fit["streams"], fit["observations"]) == (6, 2, 24)
    assert fit["converged"] and fit["seed_variance"] > 0 and fit["residual_variance"] > 0
    assert fit["stream_variance"] is not None and fit["stream_variance"] >= 0
    single = stats.mixed_model(table[table["training_replicate"] == 0], "sig2noise", "final-ticket", 12, 21)
    assert single["streams"] == 1 and single["stream_variance"] is None
    null = stats.mixed_model(_design(0.0, rng=np.random.default_rng(1)), "sig2noise", "final-ticket", 12, 21)
    assert null["low"] < 0 < null["high"]


def _capped_runs():
    """CartPole-like scores: A fails (falls below 250) at round 2 in all 3 seeds; B never does."""
    rows = []
    for s in range(3):
        for r in range(1, 6):
            rows.append({"task": "t", "baseline": "A", "seed": s, "round": r, "weights_remaining": 0.8 ** (r - 1),
                         "best_perf": 500.0 if r == 1 else 40.0})
            rows.append({"task": "t", "baseline": "B", "seed": s, "round": r, "weights_remaining": 0.8 ** (r - 1),
                         "best_perf": 500.0})
    return pd.DataFrame(rows)


def test_failure_rounds_and_the_log_rank_test_by_hand():
    failures = stats.failure_rounds(_capped_runs(), floors={"t": 250})
    a = failures[failures["baseline"] == "A"]
    b = failures[failures["baseline"] == "B"]
    assert a["round"].tolist() == [2, 2, 2] and a["failed"].all() and a["trainable_until"].tolist() == [1, 1, 1]
    assert b["round"].tolist() == [5, 5, 5] and not b["failed"].any()
    out = stats.survival_comparison(failures, "B", "A")
    # at round 2: 6 at risk, 3 events, all in A: O - E = 1.5, V = 3·3·3·3 / (36·5) = 0.45, chi² = 5.0
    from scipy.stats import chi2
    assert out["logrank_p"] == pytest.approx(chi2.sf(5.0, 1), rel=1e-6)
    assert out["fisher_p"] == pytest.approx(0.1, rel=1e-6)        # 3 of 3 against 0 of 3: 2 / C(6, 3)
    assert out["failed"] == (0, 3)
    km = stats.kaplan_meier(failures).set_index(["baseline", "round"])["survival"]
    assert km.loc[("A", 2)] == 0.0 and km.loc[("B", 5)] == 1.0


def test_fisher_on_the_cartpole_counts():
    # 0 of 5 against 3 of 5 failing: two-sided p = 1/6 (hypergeometric)
    rows = [{"baseline": "snr", "round": 21, "failed": False}] * 5 + \
           [{"baseline": "mag", "round": 15, "failed": True}] * 3 + [{"baseline": "mag", "round": 21, "failed": False}] * 2
    out = stats.survival_comparison(pd.DataFrame(rows), "snr", "mag")
    assert out["fisher_p"] == pytest.approx(1 / 6)


def test_seed_differences_refuse_a_seed_whose_scores_are_not_finite():
    # a seed NaN in every endpoint round of both arms and both streams would vanish from a pivot: refused instead
    table = _design(40.0)
    table.loc[table["seed"] == 5, "best_perf"] = np.nan
    with pytest.raises(ValueError, match=r"not finite, e\.g\. \(baseline, seed, training_replicate, round\) "
                                         r"\('final-ticket', 5, 0, 12\)"):
        stats.seed_differences(table, "sig2noise", "final-ticket", 12, 21)


def test_round_one_mismatches_compare_scores_exactly_and_diagnostics_to_float32_rounding():
    row = {"strategy": "SNES", "round": 1, "final_perf": -700.0, "best_perf": -650.0, "best_val": -640.0,
           "kept_weights": 4545, "sigma_cv": 0.25, "mean_travel": 0.5}
    later = {**row, "round": 2, "best_perf": -300.0}          # rounds after the first may differ
    table = pd.DataFrame([{**row, "seed": s, "cell": c} for s in (0, 1) for c in "ab"]
                         + [{**later, "seed": 0, "cell": "a"}])
    assert stats.round_one_mismatches(table) == []
    rounded = table.copy()
    rounded.loc[3, "mean_travel"] = np.nextafter(np.float32(0.5), np.float32(1.0))   # one float32 step
    assert stats.round_one_mismatches(rounded) == []
    for column, value in (("best_perf", -649.0), ("kept_weights", 4544), ("sigma_cv", 0.26)):
        changed = table.copy()
        changed.loc[3, column] = value                            # seed 1, cell b
        assert stats.round_one_mismatches(changed) == [("SNES", 1)], column
