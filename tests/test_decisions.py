"""The pre-registration's decision rules (lottery_kit.analysis.decisions), branch by branch, as Figure 10 prints them:
each reading comes out where the plan says it does, and exploratory analyses never decide."""

import numpy as np
import pandas as pd
import pytest

from lottery_kit.analysis import equivalence_verdict, holm, sign_flip_test
from lottery_kit.analysis.decisions import (EXPLORATORY, MECHANISM_TESTS, SEPCMA_WORDS, mechanism_decision,
                                            primary_decision, sepcma_decision)

READINGS = ("SNR avoids layer collapse", "σ picks better weights")


def mechanism_tests(effects: dict[str, float], seeds: int = 15, noise: float = 20.0, seed: int = 0) -> pd.DataFrame:
    """T1–T4 as Figure 10 computes them, from per-seed differences with the planted mean ``effects[T]`` (0 if
    absent): the sign-flip test over seeds and Holm's correction over the four."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, (better, than) in MECHANISM_TESTS.items():
        d = effects.get(name, 0.0) + noise * rng.standard_normal(seeds)
        rows.append({"comparison": f"{better} − {than}", "mean_difference": d.mean(), "sign_flip_p": sign_flip_test(d)})
    tests = pd.DataFrame(rows, index=list(MECHANISM_TESTS))
    return tests.join(holm(tests["sign_flip_p"]).set_index(tests.index)[["p_holm", "reject"]])


@pytest.mark.parametrize("effects, reading", [
    ({"T1": 200, "T3": 200, "T4": 0}, "SNR avoids layer collapse"),      # the floor alone recovers SNR's gain
    ({"T1": 200}, "SNR avoids layer collapse"),
    ({"T2": 200, "T4": 200}, "σ picks better weights"),                 # SNR beats both controls
    ({"T1": 100, "T2": 100, "T4": 200}, "σ picks better weights"),      # the floor helps, σ helps more
])
def test_each_reading_comes_out_where_the_plan_says(effects, reading):
    assert mechanism_decision(mechanism_tests(effects)) == reading


@pytest.mark.parametrize("effects, outcomes", [
    ({}, ["T1 (M-floor − magnitude) does not reject", "T4 (SNR − M-shuffled) does not reject"]),
    ({"T1": -200}, ["T1 (M-floor − magnitude) rejects, negative"]),
    ({"T1": 200, "T2": 200}, ["T1 (M-floor − magnitude) rejects, positive", "T2 (SNR − M-floor) rejects, positive",
                              "T4 (SNR − M-shuffled) does not reject"]),
    ({"T2": 200, "T4": -200}, ["T4 (SNR − M-shuffled) rejects, negative"]),
])
def test_otherwise_neither_reading_and_every_test_as_it_came_out(effects, outcomes):
    text = mechanism_decision(mechanism_tests(effects))
    assert text.startswith("neither reading: ") and not any(r in text for r in READINGS)
    assert all(o in text for o in outcomes), text
    assert all(f"{t} (" in text for t in MECHANISM_TESTS)


def test_an_exploratory_analysis_reports_the_tests_and_decides_nothing():
    for effects in ({"T1": 200}, {"T2": 200, "T4": 200}):
        text = mechanism_decision(mechanism_tests(effects), exploratory=True)
        assert text.startswith(EXPLORATORY) and not any(r in text for r in READINGS)
        assert "rejects, positive" in text
    assert primary_decision(1e-4, 250.0, exploratory=True) == EXPLORATORY
    assert sepcma_decision("tie", exploratory=True) == EXPLORATORY


def test_the_mechanism_family_needs_all_four_tests():
    with pytest.raises(ValueError, match="missing.*T4"):
        mechanism_decision(mechanism_tests({}).drop(index="T4"))


def test_the_primary_decision_follows_the_sign_flip_test_and_the_sign():
    assert primary_decision(6.1e-5, 262.8) == "SNR pruning gives better tickets than magnitude pruning"
    assert primary_decision(6.1e-5, -50.0) == "magnitude pruning gives better tickets than SNR pruning"
    assert primary_decision(0.05, 262.8) == "no difference detected"   # α = 0.05: p must lie below it
    assert primary_decision(0.3, -10.0) == "no difference detected"
    assert primary_decision(float("nan"), 262.8) == "no difference detected"


def test_every_equivalence_verdict_has_its_words():
    rng = np.random.default_rng(1)
    seen = set()
    for mean in (0.0, 30.0, 60.0, 150.0, 400.0, -60.0, -150.0, -400.0):
        for spread in (5.0, 40.0, 150.0, 600.0):
            verdict = equivalence_verdict(mean + spread * rng.standard_normal(5), 100.0)["verdict"]
            seen.add(verdict)
            assert sepcma_decision(verdict) == SEPCMA_WORDS[verdict]
    assert seen == set(SEPCMA_WORDS), f"verdicts never drawn: {set(SEPCMA_WORDS) - seen}"
    with pytest.raises(ValueError, match="unknown equivalence verdict 'draw'"):
        sepcma_decision("draw")
