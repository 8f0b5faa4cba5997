"""Statistics of results tables: paired comparisons over seeds, the exact sign-flip test, a mixed model for
designs with several noise streams, equivalence, Holm's correction, and capped tasks as survival data.

The unit of every comparison is the seed: two rules that start from one seed's θ0 (and, within one noise stream,
share its training keys and test episodes) make a pair. Libraries do the statistics (scipy and statsmodels; its
``duration`` module gives Kaplan–Meier and the log-rank test, lifelines would pin pandas below 3); the functions here
shape the tables for them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

def normalised_gain(results: pd.DataFrame, perf: str = "best_perf", better: str = "sig2noise",
                    than: str = "final-ticket") -> pd.DataFrame:
    """Per task and round: the mean gain of ``better`` over ``than``, as a fraction of the task's joint score range.

    The range is the task's min-max over both methods, all rounds and seeds (the paper's normalisation).
    """
    both = results[results["baseline"].isin([better, than])]
    span = both.groupby("task")[perf].agg(lambda s: s.max() - s.min()).replace(0.0, np.nan)
    means = both.groupby(["task", "round", "weights_remaining", "baseline"])[perf].mean().unstack("baseline")
    gain = (means[better] - means[than]).rename("gain").reset_index()
    gain["normalised_gain"] = gain["gain"] / gain["task"].map(span)
    return gain


def gain_against_agreement(results: pd.DataFrame, diagnostics_rows: pd.DataFrame,
                           perf: str = "best_perf") -> pd.DataFrame:
    """Per task and round r: SNR's :func:`normalised_gain` over magnitude IMP beside the agreement of the two rules
    on round r−1's outcome of the SNR runs (``snr_magnitude_agreement`` of ``diagnostics_rows``, mean over seeds):
    round r's tickets were chosen from that outcome. Rounds that lack either side are left out."""
    gain = normalised_gain(results, perf=perf)
    chosen_by = (diagnostics_rows.groupby(["task", "round"])["snr_magnitude_agreement"].mean().reset_index()
                 .assign(round=lambda d: d["round"] + 1))
    return gain.merge(chosen_by, on=["task", "round"]).dropna(subset=["normalised_gain", "snr_magnitude_agreement"])


def paired_statistics(d, rng: np.random.Generator | None = None, n_boot: int = 10_000, level: float = 0.95) -> dict:
    """Mean of the paired differences ``d`` (one per seed), its percentile-bootstrap interval and its Student-t
    interval, the two-sided Wilcoxon signed-rank p (1.0 when every difference is zero), how many seeds share the
    mean's sign and how many tie exactly (``seeds_tied``: where every seed ties, e.g. both runs at a task's score cap
    such as CartPole's 500 steps, the comparison cannot separate the two, whatever it is). With a handful of seeds
    the bootstrap interval is too narrow (3 seeds give it 10 distinct resamples to draw from); the t interval is the
    honest one there."""
    from scipy.stats import t, wilcoxon

    d, rng = np.asarray(d, float), rng if rng is not None else np.random.default_rng(0)
    boot = rng.choice(d, size=(n_boot, d.size), replace=True).mean(axis=1)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    mean = d.mean()
    half = t.ppf((1 + level) / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan
    return {"seeds": d.size, "mean_difference": mean, "ci_low": low, "ci_high": high,
            "t_low": mean - half, "t_high": mean + half,
            "wilcoxon_p": 1.0 if np.all(d == 0) else float(wilcoxon(d, zero_method="zsplit").pvalue),
            "seeds_same_sign": int(np.sum(np.sign(d) * np.sign(mean) > 0)), "seeds_tied": int(np.sum(d == 0))}


def _paired_wide(results: pd.DataFrame, perf: str, better: str, than: str):
    """The two baselines' scores side by side per (task, round, seed), with the task's joint score range."""
    both = results[results["baseline"].isin([better, than])]
    span = both.groupby("task")[perf].agg(lambda s: s.max() - s.min()).replace(0.0, np.nan)
    wide = both.pivot_table(index=["task", "round", "seed"], columns="baseline", values=perf).dropna()
    return both, wide, span


def paired_difference(results: pd.DataFrame, perf: str = "best_perf", better: str = "sig2noise",
                      than: str = "final-ticket", n_boot: int = 10_000, level: float = 0.95,
                      seed: int = 0) -> pd.DataFrame:
    """Per task and round: ``better`` − ``than`` paired by seed (both start from the seed's dense θ0), with a
    percentile-bootstrap confidence interval of the mean difference over seeds and a two-sided Wilcoxon
    signed-rank p-value (exact for small samples; 1.0 when every difference is zero).

    Columns: task, round, weights_remaining, seeds, mean_difference, ci_low, ci_high (bootstrap), t_low, t_high
    (Student's t over seeds: with 3 to 5 seeds the bootstrap interval is too narrow, the t interval is not), wilcoxon_p,
    ``seeds_same_sign`` (how many seeds' differences have the mean's sign; a zero difference counts for neither:
    with few seeds, where no test can reach a small p, this says whether the seeds agree at all), ``seeds_tied``
    (seeds whose two scores are equal), and ``normalised_difference`` (the mean over the task's joint score range,
    as :func:`normalised_gain`).
    """
    both, wide, span = _paired_wide(results, perf, better, than)
    remaining = both.groupby(["task", "round"])["weights_remaining"].mean()
    rng = np.random.default_rng(seed)
    rows = []
    for (task, round_), part in wide.groupby(level=["task", "round"]):
        stats = paired_statistics((part[better] - part[than]).to_numpy(), rng, n_boot, level)
        rows.append({"task": task, "round": round_, "weights_remaining": remaining[(task, round_)], **stats,
                     "normalised_difference": stats["mean_difference"] / span[task]})
    return pd.DataFrame(rows)


def pooled_difference(results: pd.DataFrame, first_round: int, last_round: int, perf: str = "best_perf",
                      better: str = "sig2noise", than: str = "final-ticket", n_boot: int = 10_000,
                      level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per task: ``better`` − ``than`` averaged over rounds ``first_round`` … ``last_round`` within each seed, then
    compared over seeds as :func:`paired_difference` does (bootstrap and t intervals, Wilcoxon p, seeds of one sign).

    A seed's rounds share one lineage, so they are not independent samples; their mean is one number per seed, and
    the seeds are. Averaging first takes out the round-to-round training noise that makes a single round's
    difference so wide. Only the rounds of the range that every seed has finished on both sides are used:
    ``rounds`` says which, ``weights_remaining`` is the share left at the last of them.
    """
    both, wide, span = _paired_wide(results, perf, better, than)
    wide = wide[wide.index.get_level_values("round").to_series().between(first_round, last_round).to_numpy()]
    rng = np.random.default_rng(seed)
    rows = []
    for task, part in wide.groupby(level="task"):
        per_round = part.groupby(level="round").size()
        complete = per_round[per_round == per_round.max()].index
        part = part[part.index.get_level_values("round").isin(complete)]
        d = (part[better] - part[than]).groupby(level="seed").mean().to_numpy()
        stats = paired_statistics(d, rng, n_boot, level)
        left = both[(both["task"] == task) & (both["round"] == complete.max())]["weights_remaining"].mean()
        rows.append({"task": task, "rounds": f"{complete.min()}-{complete.max()}", "weights_remaining": left,
                     **stats, "normalised_difference": stats["mean_difference"] / span[task]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- tests over seeds
def sign_flip_test(d, alternative: str = "two-sided", exact_up_to: int = 20, n_resamples: int = 100_000,
                   seed: int = 0) -> float:
    """p of the paired sign-flip permutation test that the mean of ``d`` (one difference per seed) is 0.

    Under the null each seed's difference is as likely to have either sign, so the null distribution of the mean is
    that of every sign vector (``scipy.stats.permutation_test`` on one sample). Exact (all 2^n sign vectors) up to
    ``exact_up_to`` seeds, else ``n_resamples`` random ones. With n seeds no two-sided p can fall below 2 / 2^n
    (0.0625 with 5 seeds)."""
    from scipy.stats import permutation_test

    d = np.asarray(d, float)
    if not np.isfinite(d).all():
        raise ValueError(f"sign_flip_test needs finite differences; got {d.tolist()}: a score of a seed is not "
                         "finite (a failed run); find it before testing")
    if np.all(d == 0):
        return 1.0
    resamples = np.inf if d.size <= exact_up_to else n_resamples
    result = permutation_test((d,), np.mean, permutation_type="samples", alternative=alternative,
                              n_resamples=resamples, rng=np.random.default_rng(seed))
    return float(result.pvalue)


def exact_sign_flip_pvalues(d) -> np.ndarray:
    """Two-sided exact sign-flip p of each row of ``d`` (experiments × seeds, up to 20 seeds), all rows at once over
    the 2^seeds sign vectors: :func:`sign_flip_test`'s p values, with scipy's tolerance for ties."""
    d = np.atleast_2d(np.asarray(d, float))
    seeds = d.shape[1]
    if not 1 <= seeds <= 20:
        raise ValueError(f"exact_sign_flip_pvalues enumerates every sign vector: 1 to 20 seeds; got {seeds}")
    signs = 1.0 - 2.0 * ((np.arange(2 ** seeds)[:, None] >> np.arange(seeds)) & 1)
    null = signs @ d.T / seeds                                 # every sign vector's mean, one column a row of d
    observed = d.mean(axis=1)
    gamma = np.abs(observed) * np.finfo(float).eps * 100
    p = 2 * np.minimum((null <= observed + gamma).mean(axis=0), (null >= observed - gamma).mean(axis=0))
    return np.where(np.all(d == 0, axis=1), 1.0, np.minimum(p, 1.0))


def sign_flip_power(effect: float, sd: float, seeds: int, alpha: float = 0.05, n_sim: int = 2000,
                    seed: int = 0) -> float:
    """The share of simulated experiments in which the two-sided exact sign-flip test rejects at ``alpha``: each
    experiment draws ``seeds`` normal differences of mean ``effect`` and standard deviation ``sd``. At ``effect`` 0
    it is the test's size; with 5 seeds it is 0 (no p below 0.0625)."""
    draws = np.random.default_rng(seed).normal(effect, sd, (n_sim, seeds))
    p = np.concatenate([exact_sign_flip_pvalues(chunk) for chunk in np.array_split(draws, max(1, n_sim // 64))])
    return float(np.mean(p < alpha))


def holm(pvalues, alpha: float = 0.05) -> pd.DataFrame:
    """Holm's step-down correction of one family of tests: columns ``p``, ``p_holm`` and ``reject``."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, float)
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    return pd.DataFrame({"p": p, "p_holm": adjusted, "reject": reject})


def equivalence(d, margin: float, alpha: float = 0.05) -> dict:
    """Two one-sided paired t-tests (TOST) that the mean of ``d`` lies within ±``margin``: the larger one-sided p,
    and the (1 − 2α) t interval that lies inside ±margin exactly when that p is below α."""
    from scipy.stats import t
    from statsmodels.stats.weightstats import ttost_paired

    d = np.asarray(d, float)
    p, _, _ = ttost_paired(d, np.zeros_like(d), -margin, margin)
    half = t.ppf(1 - alpha, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return {"seeds": d.size, "mean_difference": d.mean(), "margin": margin, "p_equivalence": float(p),
            "low": d.mean() - half, "high": d.mean() + half, "equivalent": bool(p < alpha)}


def equivalence_verdict(d, margin: float, alpha: float = 0.05) -> dict:
    """A tie or a difference, from both tests of ``d`` (one paired difference per seed): TOST within ±``margin``
    (:func:`equivalence`, the 90 % interval at α 0.05) and the paired Student-t test of mean 0 (two-sided, the 95 %
    interval). Both can hold at once, a difference smaller than the margin; the verdict then says both.

    ``verdict``: "tie" (equivalent, no difference), "better" / "worse" (a difference, not equivalent), "better,
    within the margin" / "worse, within the margin" (both), or "inconclusive" (neither)."""
    from scipy.stats import ttest_1samp

    d = np.asarray(d, float)
    if d.size < 2 or not np.isfinite(d).all():
        raise ValueError(f"equivalence_verdict needs two or more finite differences, one a seed; got {d.tolist()}")
    eq, test = equivalence(d, margin, alpha), ttest_1samp(d, 0.0)
    interval = test.confidence_interval(1 - alpha)
    differs = test.pvalue < alpha
    direction = "better" if eq["mean_difference"] > 0 else "worse"
    verdict = ({(True, False): "tie", (False, True): direction, (True, True): f"{direction}, within the margin"}
               .get((eq["equivalent"], differs), "inconclusive"))
    return {**eq, "t_low": float(interval.low), "t_high": float(interval.high), "t_p": float(test.pvalue),
            "verdict": verdict}


#: Round-1 columns equal bit for bit wherever one dense run is reused by several cells (rules and noise streams
#: act only from round 2).
ROUND_ONE_EXACT = ("final_perf", "best_perf", "best_val", "kept_weights")
#: Round-1 diagnostics of the search distribution, equal up to float32 rounding: a later commit's program may round
#: ``mean_travel`` one float32 step apart.
ROUND_ONE_CLOSE = ("sigma_cv", "mean_travel")


def round_one_mismatches(results: pd.DataFrame, by=("strategy", "seed"), rtol: float = 1e-6) -> list:
    """The groups ``by`` whose round-1 rows differ between cells: any of :data:`ROUND_ONE_EXACT` not equal, or any of
    :data:`ROUND_ONE_CLOSE` (where present) further apart than ``rtol``. Empty when every group is one run."""
    first = results[results["round"] == 1]
    close = [c for c in ROUND_ONE_CLOSE if c in first]
    split = []
    for key, part in first.groupby(list(by)):
        exact = part[list(ROUND_ONE_EXACT)].drop_duplicates()
        values = part[close].to_numpy(float)
        near = np.isclose(values, values[:1], rtol=rtol, atol=0.0, equal_nan=True).all()
        if len(exact) > 1 or not near:
            split.append(key)
    return split


def _key(row: pd.Series, stream: str) -> str:
    """A row's (baseline, seed, stream, round), as an error message names it."""
    return f"({row['baseline']!r}, {int(row['seed'])}, {int(row[stream])}, {int(row['round'])})"


def _endpoint_rows(results: pd.DataFrame, better: str, than: str, first_round: int, last_round: int,
                   stream: str) -> pd.DataFrame:
    """The two baselines' rows of the endpoint's rounds, with a ``stream`` column (0 where absent or missing, as in
    cells made before noise streams were recorded); refuses a (baseline, seed, stream, round) that appears twice."""
    part = results[results["baseline"].isin([better, than]) & results["round"].between(first_round, last_round)]
    part = part.assign(**{stream: part[stream].fillna(0).astype(int) if stream in part else 0})
    twice = part[part.duplicated(["baseline", "seed", stream, "round"], keep=False)]
    if len(twice):
        raise ValueError(f"{len(twice)} rows share a (baseline, seed, {stream}, round) with another, e.g. "
                         f"{_key(twice.iloc[0], stream)}: two runs of one arm; keep one")
    return part


def seed_differences(results: pd.DataFrame, better: str, than: str, first_round: int, last_round: int,
                     perf: str = "best_perf", stream: str = "training_replicate", seeds=None,
                     streams=None) -> pd.DataFrame:
    """Per seed and noise stream: ``better`` − ``than`` of ``perf`` averaged over rounds ``first_round`` …
    ``last_round`` (pairs matched by seed, stream and round), and ``difference`` per seed, the mean over its streams.

    Refuses pairs with a round missing on either side (a seed's endpoint is its whole range or nothing), seeds with
    different noise streams, a (baseline, seed, stream, round) given twice (two runs would be averaged) and a score
    that is not finite. ``seeds`` / ``streams``, where given, are the ones a design has: a seed or stream missing
    from every arm (which nothing else would notice) or one it does not have is refused.
    Returns columns seed, difference, streams, and one ``stream_<k>`` column per stream.
    """
    part = _endpoint_rows(results, better, than, first_round, last_round, stream)
    bad = part[~np.isfinite(part[perf].to_numpy(float))]
    if len(bad):   # a pivot would drop them, and with them a seed, silently
        raise ValueError(f"{better} against {than}: {len(bad)} rows of rounds {first_round}-{last_round} have a "
                         f"{perf} that is not finite, e.g. (baseline, seed, {stream}, round) "
                         f"{_key(bad.iloc[0], stream)}: a failed run; find it before testing")
    wide = part.pivot_table(index=["seed", stream, "round"], columns="baseline", values=perf)
    expected = last_round - first_round + 1
    counts = wide.dropna().groupby(level=["seed", stream]).size()
    short = counts[counts != expected]
    missing = set(wide.droplevel("round").index) - set(counts.index)
    if len(short) or missing or not {better, than} <= set(wide.columns):
        raise ValueError(f"{better} against {than}: rounds {first_round}-{last_round} incomplete for (seed, stream) "
                         f"{sorted(set(short.index) | missing)}")
    per_stream = (wide[better] - wide[than]).groupby(level=["seed", stream]).mean().unstack(stream)
    if per_stream.isna().any().any():
        raise ValueError(f"{better} against {than}: the seeds do not all have the same noise streams: "
                         + "; ".join(f"seed {s}: {sorted(int(k) for k in row.dropna().index)}"
                                     for s, row in per_stream.iterrows()))
    for name, expected, found in (("seeds", seeds, per_stream.index), ("streams", streams, per_stream.columns)):
        if expected is not None and sorted(int(x) for x in found) != sorted(int(x) for x in expected):
            raise ValueError(f"{better} against {than}: the design has {name} {sorted(expected)}, rounds "
                             f"{first_round}-{last_round} have {sorted(int(x) for x in found)}")
    per_stream.columns = [f"stream_{int(k)}" for k in per_stream.columns]
    out = per_stream.assign(difference=per_stream.mean(axis=1), streams=per_stream.notna().sum(axis=1))
    return out.reset_index()


def mixed_model(results: pd.DataFrame, better: str, than: str, first_round: int, last_round: int,
                perf: str = "best_perf", stream: str = "training_replicate", level: float = 0.95) -> dict:
    """A linear mixed model of each (seed, stream, rule)'s mean ``perf`` over the rounds: rule as a fixed effect,
    random intercepts for the seed and for the stream within the seed (``statsmodels`` MixedLM, REML). Returns the
    rule's coefficient (``better`` − ``than``), its Wald interval at ``level`` and p, whether the fit converged, its
    variance components (a component at 0 sits on the boundary, where the Wald interval is less trustworthy;
    ``stream_variance`` is None with one stream) and the fit's warnings, first lines."""
    import statsmodels.formula.api as smf

    part = _endpoint_rows(results, better, than, first_round, last_round, stream)
    y = part.groupby(["seed", stream, "baseline"])[perf].mean().rename("y").reset_index()
    y["better"] = (y["baseline"] == better).astype(float)
    vc = {"stream": f"0 + C({stream})"} if y[stream].nunique() > 1 else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm("y ~ better", y, groups=y["seed"], re_formula="1", vc_formula=vc).fit(reml=True)
    low, high = fit.conf_int(alpha=1 - level).loc["better"]
    return {"observations": len(y), "seeds": y["seed"].nunique(), "streams": y[stream].nunique(),
            "coefficient": float(fit.params["better"]), "low": float(low), "high": float(high),
            "p": float(fit.pvalues["better"]), "converged": bool(fit.converged),
            "seed_variance": float(fit.cov_re.iloc[0, 0]),
            "stream_variance": float(fit.vcomp[0]) if vc else None, "residual_variance": float(fit.scale),
            "warnings": sorted({str(w.message).splitlines()[0] for w in caught})}


# ---------------------------------------------------------------- capped tasks as survival data
def failure_rounds(results: pd.DataFrame, floors: dict[str, float], perf: str = "best_perf",
                   by: tuple[str, ...] = ("baseline",)) -> pd.DataFrame:
    """Per task, ``by`` group and seed: the first round after the dense one whose ``perf`` falls below the task's
    absolute floor (``floors[task]``), or the last finished round, censored, when none does.

    Columns: task, *by, seed, floor, ``round`` (of failure or censoring), ``failed``, ``trainable_until`` (the last
    round before failure: ``round`` − 1 when failed, else ``round``) and its ``weights_remaining``. The floors are
    fixed numbers, so a run's rounds never move when other runs join the table.
    """
    rows = []
    for task, part in results.groupby("task"):
        if task not in floors:
            raise KeyError(f"no floor for task {task!r}; floors given for {sorted(floors)}")
        floor = floors[task]
        for key, run in part.sort_values("round").groupby([*by, "seed"]):
            fell = run[(run["round"] > 1) & (run[perf] < floor)]
            failed = bool(len(fell))
            round_ = int(fell["round"].iloc[0]) if failed else int(run["round"].max())
            last_good = round_ - 1 if failed else round_
            rows.append({"task": task, **dict(zip([*by, "seed"], key)), "floor": floor, "round": round_,
                         "failed": failed, "trainable_until": last_good,
                         "weights_remaining": float(run.loc[run["round"] == last_good, "weights_remaining"].iloc[0])})
    return pd.DataFrame(rows)


def trainable_until(results: pd.DataFrame, floors: dict[str, float], perf: str = "best_perf") -> pd.DataFrame:
    """Per task, baseline and seed: the last round whose ticket still trains (scores at least the task's absolute
    floor), with ``censored`` True when the run never fell below it (:func:`failure_rounds`)."""
    f = failure_rounds(results, floors, perf)
    return f.assign(censored=~f["failed"])[["task", "baseline", "seed", "floor", "trainable_until",
                                            "weights_remaining", "censored"]].rename(
        columns={"trainable_until": "round"})


def survival_comparison(failures: pd.DataFrame, better: str, than: str, group: str = "baseline") -> dict:
    """Two rules' rounds to failure (:func:`failure_rounds`, one task and floor): the log-rank test
    (``statsmodels.duration.survdiff``) and Fisher's exact test of the failure counts (``scipy``), two-sided."""
    from scipy.stats import fisher_exact
    from statsmodels.duration.survfunc import survdiff

    a, b = (failures[failures[group] == g] for g in (better, than))
    both = pd.concat([a, b])
    if both["failed"].any():
        _, logrank_p = survdiff(both["round"].to_numpy(float), both["failed"].to_numpy(int),
                                (both[group] == better).to_numpy(int))
    else:
        logrank_p = 1.0   # no failure on either side: nothing to compare
    table = [[int(a["failed"].sum()), int((~a["failed"]).sum())], [int(b["failed"].sum()), int((~b["failed"]).sum())]]
    return {"seeds": (len(a), len(b)), "failed": (table[0][0], table[1][0]),
            "logrank_p": float(logrank_p), "fisher_p": float(fisher_exact(table).pvalue)}


def kaplan_meier(failures: pd.DataFrame, group: str = "baseline") -> pd.DataFrame:
    """Kaplan–Meier survival curve per group (``statsmodels.duration.SurvfuncRight``): columns group, round,
    survival; each curve starts at round 0 with survival 1 and steps at every round in which a seed fails or is
    censored."""
    from statsmodels.duration.survfunc import SurvfuncRight

    frames = []
    for name, part in failures.groupby(group):
        times = part["round"].to_numpy(float)
        km = SurvfuncRight(times, part["failed"].to_numpy(int))
        at = np.unique(np.concatenate([[0.0], times]))
        survival = [float(km.surv_prob[km.surv_times <= t][-1]) if np.any(km.surv_times <= t) else 1.0 for t in at]
        frames.append(pd.DataFrame({"round": at, "survival": survival}).assign(**{group: name}))
    return pd.concat(frames, ignore_index=True)[[group, "round", "survival"]]


__all__ = ["equivalence", "equivalence_verdict", "failure_rounds", "gain_against_agreement", "holm", "kaplan_meier",
           "mixed_model", "normalised_gain", "paired_difference", "paired_statistics", "pooled_difference",
           "seed_differences", "sign_flip_test", "survival_comparison", "trainable_until"]
