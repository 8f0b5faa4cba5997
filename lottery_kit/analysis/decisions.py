"""The decision rules of ``papers_figures/preregistration.md``, as the words Figure 10 prints for each family.

Each function takes a family's computed tests and returns its decision in the plan's words; with ``exploratory``
(parameters other than the plan's) it returns no decision. The tests themselves come from :mod:`.stats`.
"""

from __future__ import annotations

import pandas as pd

#: No decision: the analysis ran with parameters other than the plan's.
EXPLORATORY = "exploratory, no decision"

#: The mechanism family's tests: name -> (better, than), each a stream-0 difference over the plan's rounds.
MECHANISM_TESTS = {"T1": ("M-floor", "magnitude"), "T2": ("SNR", "M-floor"), "T3": ("M-shuffled", "magnitude"),
                   "T4": ("SNR", "M-shuffled")}

#: The Sep-CMA-ES family's verdicts (:func:`.stats.equivalence_verdict`) in the plan's words.
SEPCMA_WORDS = {"tie": "a tie (within ±100)", "better": "SNR better", "worse": "magnitude better",
                "better, within the margin": "SNR better, by less than the ±100 margin of a tie",
                "worse, within the margin": "magnitude better, by less than the ±100 margin of a tie",
                "inconclusive": "inconclusive"}


def primary_decision(p: float, mean_difference: float, exploratory: bool = False, alpha: float = 0.05) -> str:
    """SNR − magnitude: the two-sided sign-flip ``p`` at ``alpha`` and the sign of the mean difference."""
    if exploratory:
        return EXPLORATORY
    if not p < alpha:   # a p of NaN decides nothing either
        return "no difference detected"
    if mean_difference > 0:
        return "SNR pruning gives better tickets than magnitude pruning"
    return "magnitude pruning gives better tickets than SNR pruning"


def mechanism_decision(tests: pd.DataFrame, exploratory: bool = False) -> str:
    """The mechanism family's reading from its tests T1–T4 (index; columns ``comparison``, ``mean_difference`` and
    Holm's ``reject``): "SNR avoids layer collapse" if T1 rejects with M-floor above magnitude and T2 does not
    reject; "σ picks better weights" if T2 and T4 both reject with SNR above; otherwise each test's outcome."""
    missing = set(MECHANISM_TESTS) - set(tests.index)
    if missing:
        raise ValueError(f"the mechanism family needs tests {sorted(MECHANISM_TESTS)}; missing {sorted(missing)}")
    up = {t: bool(tests.loc[t, "reject"]) and tests.loc[t, "mean_difference"] > 0 for t in MECHANISM_TESTS}
    outcome = ", ".join(
        f"{t} ({tests.loc[t, 'comparison']}) "
        + (f"rejects, {'positive' if tests.loc[t, 'mean_difference'] > 0 else 'negative'}"
           if tests.loc[t, "reject"] else "does not reject") for t in MECHANISM_TESTS)
    if exploratory:
        return f"{EXPLORATORY}: {outcome}"
    if up["T1"] and not tests.loc["T2", "reject"]:
        return "SNR avoids layer collapse"
    if up["T2"] and up["T4"]:
        return "σ picks better weights"
    return f"neither reading: {outcome}"


def sepcma_decision(verdict: str, exploratory: bool = False) -> str:
    """The Sep-CMA-ES family's verdict (one of :data:`SEPCMA_WORDS`) in the plan's words."""
    if verdict not in SEPCMA_WORDS:
        raise ValueError(f"unknown equivalence verdict {verdict!r}; valid verdicts: {', '.join(SEPCMA_WORDS)}")
    return EXPLORATORY if exploratory else SEPCMA_WORDS[verdict]
