# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 10: the pre-registered test of SNR against magnitude pruning
#
# Everything this notebook decides is fixed in `papers_figures/preregistration.md`, committed before any of its
# cells ran a round: Pendulum-v1, SNES at the paper's budget, 15 seeds, each in two noise streams; the endpoint is
# each seed's SNR − magnitude difference of the validation-best test return, averaged over rounds 12–21 and over
# its two streams; the test is the exact two-sided sign-flip test at α = 0.05. The mechanism arms (M-floor:
# magnitude with at least 8 weights per kernel; M-shuffled: SNR with σ shuffled within each kernel) form one
# family of four tests under Holm's correction; Sep-CMA-ES, the paper's own Pendulum strategy, is tested for a tie.
#
# **No test is computed before every cell of its family has finished all 21 rounds** (the pre-registered stopping
# rule): until then this notebook says how far the cells are and draws the finished rounds, labelled unfinished.
# The wiring of the tickets (kept output-layer weights, hidden units on a complete input→output path) is
# exploratory throughout.

# %% tags=["parameters"]
results_dir = "results-long"
figure_dir = "figures"
perf = "best_perf"
first_round = 12                     # the endpoint's rounds: 12 (8.6 % of the weights) ...
last_round = 21                      # ... to 21 (1.15 %)
seeds = list(range(15))              # the primary and mechanism families' seeds
sepcma_seeds = list(range(5))
rounds = 21
equivalence_margin = 100.0           # Sep-CMA-ES: "tie" when the 90 % interval lies inside ±100

# %%
from lottery_kit import parameters

parameters.check_notebook(globals())   # a parameter this notebook does not declare, or of the wrong shape, is refused

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import lottery_kit as lk
from lottery_kit import analysis, plots
from lottery_kit.analysis.decisions import MECHANISM_TESTS
from lottery_kit.wiring import stored_wiring

#: The notebook's parameters as the plan fixes them. With any other value the tests below still run, labelled
#: exploratory, and print no decision.
PREREGISTERED = {"perf": "best_perf", "first_round": 12, "last_round": 21, "seeds": list(range(15)),
                 "sepcma_seeds": list(range(5)), "rounds": 21, "equivalence_margin": 100.0}
#: The parameters each family's test reads.
FAMILY_PARAMETERS = {"primary": {"perf", "first_round", "last_round", "seeds", "rounds"},
                     "mechanism": {"perf", "first_round", "last_round", "seeds", "rounds"},
                     "Sep-CMA-ES": {"perf", "first_round", "last_round", "sepcma_seeds", "rounds",
                                    "equivalence_margin"}}
changed = {name: globals()[name] for name, value in PREREGISTERED.items() if globals()[name] != value}
exploratory = {family: bool(names & set(changed)) for family, names in FAMILY_PARAMETERS.items()}
if changed:
    print(f"EXPLORATORY: these parameters differ from the pre-registration's {PREREGISTERED}: {changed}; "
          f"the tests of {[f for f, e in exploratory.items() if e]} decide nothing.")

#: The grids that hold the pre-registered runs (seeds 0-4 of three primary arms are the reused long-budget cells).
GRIDS = ["long_pendulum_es", "long_pendulum_es_replicate", "prereg_pendulum_snes_stream1", "prereg_pendulum_snes",
         "prereg_pendulum_mechanism", "prereg_pendulum_sepcma", "prereg_pendulum_mechanism_exploratory"]
#: What every run of those grids shares (preregistration.md, "Design"); a cell with other settings is refused.
PLAN = {"task": "Pendulum-v1", "keep_ratio": 0.8, "rounds": 21, "signal": "final",
        "task_options": {"n_eval_episodes": 32, "n_rollouts": 8}}
PLAN_TRAINER = {"decay_mode": "shrink", "es_rules": "paper", "eval_every": 50, "generations": 2000,
                "mean_decay": 0.0001, "popsize": 100, "settings": {}, "sigma_convention": "per_weight_std"}
STRATEGIES = ("SNES", "Sep_CMA_ES")   # the primary's and the paper's Pendulum strategy, each at its default settings
#: The settings that tell a run's arm, noise stream and seeds apart; every other one must be the plan's.
RUN_KEYS = ("baseline", "min_per_layer", "distribution", "erk_power", "training_replicate", "seeds", "trainer")
#: (baseline, min_per_layer, distribution) -> the pre-registration's name of the arm; None: a run the plan does not
#: use (random re-initialisation in the long-budget cells).
ARMS = {("sig2noise", 0, "global"): "SNR", ("final-ticket", 0, "global"): "magnitude",
        ("final-ticket", 8, "global"): "M-floor", ("sig2noise-shuffled", 0, "global"): "M-shuffled",
        ("final-ticket", 0, "layerwise"): "magnitude, layer-wise",
        ("magnitude-layer-std", 0, "global"): "magnitude-layer-std", ("random-reinit", 0, "global"): None}
#: Arms the plan runs last and tests nothing on (labelled so wherever they appear).
EXPLORATORY_ARMS = {"magnitude, layer-wise", "magnitude-layer-std"}
COLOURS = {"SNR": "black", "magnitude": "red", "M-floor": "tab:orange", "M-shuffled": "tab:blue",
           "magnitude, layer-wise": "tab:purple", "magnitude-layer-std": "tab:green"}


def arm_of(cell: Path) -> tuple[str | None, int]:
    """(the arm, the noise stream) of a cell, from its ``config.json``; a cell whose settings are not the plan's
    is refused with what differs."""
    if not (cell / "config.json").is_file():
        raise FileNotFoundError(f"{cell} has results but no config.json: its settings cannot be checked against "
                                "the plan; restore the file or move the cell out of the grid")
    config = json.loads((cell / "config.json").read_text())["config"]
    trainer = config.get("trainer", {})
    differs = {k: config.get(k) for k in PLAN if config.get(k) != PLAN[k]}
    differs |= {k: config[k] for k in config if k not in PLAN and k not in RUN_KEYS}
    differs |= {f"trainer.{k}": trainer.get(k) for k in {*PLAN_TRAINER, *trainer} - {"strategy"}
                if trainer.get(k) != PLAN_TRAINER.get(k)}
    if trainer.get("strategy") not in STRATEGIES:
        differs["trainer.strategy"] = trainer.get("strategy")
    if config.get("erk_power", 1.0) != 1.0:
        differs["erk_power"] = config["erk_power"]
    key = (config.get("baseline"), config.get("min_per_layer", 0), config.get("distribution", "global"))
    if differs or key not in ARMS:
        what = differs or dict(zip(["baseline", "min_per_layer", "distribution"], key))
        raise ValueError(f"{cell}: not a pre-registered run: {what}; the plan's settings are {PLAN} with trainer "
                         f"{PLAN_TRAINER} and strategy one of {STRATEGIES}, and its arms "
                         f"{sorted(a for a in ARMS.values() if a)}")
    return ARMS[key], int(config.get("training_replicate", 0))


def load(grid: str) -> pd.DataFrame:
    root = Path(results_dir) / grid
    if not (root.exists() and any(root.rglob("results.parquet"))):
        return pd.DataFrame()
    rows = lk.collect(root).assign(grid=grid)
    cells = {cell.name: arm_of(cell) for cell in (root / "cells").glob("*") if (cell / "results.parquet").exists()}
    rows["arm"] = rows["cell"].map(lambda c: cells[c][0])
    rows["training_replicate"] = rows["cell"].map(lambda c: cells[c][1])
    return rows[rows["arm"].notna()]


frames = [load(g) for g in GRIDS]
results = pd.concat([f for f in frames if len(f)], ignore_index=True)
RUN = ["strategy", "arm", "training_replicate", "seed"]
twice = results[results.duplicated([*RUN, "round"], keep=False)]
if len(twice):
    raise ValueError(f"one (strategy, arm, stream, seed, round) in two cells, {sorted(set(twice['cell']))}: "
                     "a run may be counted once")
# The plan's reuse condition: round 1 (dense, before any rule or noise stream acts) is one run per strategy and seed,
# so its scores, kept counts and σ diagnostics are equal in every cell of that seed, reused and new alike.
split = analysis.round_one_mismatches(results, by=["strategy", "seed"])
if split:
    raise ValueError(f"round 1 differs between the cells of (strategy, seed) {split}: the plan's reuse condition "
                     "fails (papers_figures/preregistration.md, reuse of committed cells)")

# %% [markdown]
# How far each family is: a run is one (strategy, arm, noise stream, seed); it is complete with all 21 rounds.

# %%
done = results.groupby(RUN)["round"].nunique().eq(rounds)
FAMILIES = {   # family -> (strategy, arms, streams, seeds)
    "primary": ("SNES", ["SNR", "magnitude"], [0, 1], seeds),
    "mechanism": ("SNES", ["SNR", "magnitude", "M-floor", "M-shuffled"], [0], seeds),
    "Sep-CMA-ES": ("Sep_CMA_ES", ["SNR", "magnitude"], [0, 1], sepcma_seeds),
}
progress = pd.DataFrame([
    {"family": family, "runs": len(arms) * len(streams) * len(ss),
     "complete": sum(bool(done.get((strategy, a, k, s), False)) for a in arms for k in streams for s in ss)}
    for family, (strategy, arms, streams, ss) in FAMILIES.items()]).set_index("family")
progress["ready"] = progress["complete"] == progress["runs"]
progress


# %%
def family_rows(family: str) -> pd.DataFrame:
    strategy, arms, streams, ss = FAMILIES[family]
    part = results[(results["strategy"] == strategy) & results["arm"].isin(arms)
                   & results["training_replicate"].isin(streams) & results["seed"].isin(ss)]
    return part.assign(baseline=part["arm"])


def differences(family: str, part, better, than, rounds=None) -> pd.Series:
    """Each seed's difference over ``rounds`` (default: the endpoint's), over the family's own seeds and streams (any
    other set is refused)."""
    _, _, streams, ss = FAMILIES[family]
    low, high = rounds or (first_round, last_round)
    return analysis.seed_differences(part, better, than, low, high, perf=perf, seeds=ss,
                                     streams=streams).set_index("seed")["difference"]


def interval_text(d) -> str:
    """Mean [95 % t interval] of per-seed differences, and how many seeds share the mean's sign."""
    st = analysis.paired_statistics(np.asarray(d))
    return (f"{st['mean_difference']:+.0f} [{st['t_low']:+.0f}, {st['t_high']:+.0f}], {st['seeds_same_sign']} of "
            f"{st['seeds']} seeds of its sign")


def seed_test(family: str, part, better, than) -> dict:
    d = differences(family, part, better, than)
    stats = analysis.paired_statistics(d.to_numpy())
    return {"comparison": f"{better} − {than}", "seeds": len(d), "mean_difference": d.mean(), "sd": d.std(ddof=1),
            "t_low": stats["t_low"], "t_high": stats["t_high"], "seeds_same_sign": stats["seeds_same_sign"],
            "sign_flip_p": analysis.sign_flip_test(d.to_numpy())}


def not_ready(family: str) -> None:
    row = progress.loc[family]
    print(f"{family}: {row['complete']} of {row['runs']} runs complete; the pre-registered test is computed only "
          "when every one is (papers_figures/preregistration.md, stopping rule).")


# %% [markdown]
# **The primary test:** SNR − magnitude, exact two-sided sign-flip over 15 seeds, with the Student-t interval and
# the mixed model (rule fixed; seed and stream within seed random).

# %%
if progress.loc["primary", "ready"]:
    part = family_rows("primary")
    primary = seed_test("primary", part, "SNR", "magnitude")
    model = analysis.mixed_model(part, "SNR", "magnitude", first_round, last_round, perf=perf)
    p, mean = primary["sign_flip_p"], primary["mean_difference"]
    verdict = analysis.primary_decision(p, mean, exploratory=exploratory["primary"])
    print(f"Primary: {verdict} on Pendulum-v1 with SNES at the paper's budget: mean difference {mean:+.1f} "
          f"[{primary['t_low']:+.1f}, {primary['t_high']:+.1f}], sign-flip p = {p:.2g}; mixed model "
          f"{model['coefficient']:+.1f} [{model['low']:+.1f}, {model['high']:+.1f}] (variance: seed "
          f"{model['seed_variance']:.0f}, stream within seed {model['stream_variance']:.0f}, residual "
          f"{model['residual_variance']:.0f}"
          + ("" if model["converged"] and not model["warnings"] else
             f"; the fit {'converged' if model['converged'] else 'did not converge'}: {model['warnings']}") + ").")
else:
    not_ready("primary")

# %% [markdown]
# **The mechanism family** (stream 0, Holm over T1–T4): T1 M-floor − magnitude, T2 SNR − M-floor, T3 M-shuffled −
# magnitude, T4 SNR − M-shuffled. "SNR avoids layer collapse" if T1 rejects (M-floor above magnitude) and T2 does
# not; "σ picks better weights" if T2 and T4 both reject with SNR above; otherwise the tests are reported as they are.

# %%
if progress.loc["mechanism", "ready"]:
    part = family_rows("mechanism")
    tests = pd.DataFrame([seed_test("mechanism", part, b, t) for b, t in MECHANISM_TESTS.values()],
                         index=list(MECHANISM_TESTS))
    tests = tests.join(analysis.holm(tests["sign_flip_p"]).set_index(tests.index)[["p_holm", "reject"]])
    print(f"Mechanism: {analysis.mechanism_decision(tests, exploratory=exploratory['mechanism'])}.")
    for name, t in tests.iterrows():
        print(f"{name} ({t['comparison']}): {t['mean_difference']:+.1f} [{t['t_low']:+.1f}, {t['t_high']:+.1f}], "
              f"{t['seeds_same_sign']} of {t['seeds']} seeds of its sign, sign-flip p = {t['sign_flip_p']:.2g}, "
              f"Holm {t['p_holm']:.2g}, {'rejected' if t['reject'] else 'not rejected'}")
    # exploratory: what a test that did not reject could have detected, at the spread its seeds show
    for name, t in tests[~tests["reject"]].iterrows():
        power = {e: analysis.sign_flip_power(e, t["sd"], t["seeds"]) for e in (50, 100)}
        print(f"{name} ({t['comparison']}) did not reject: at its seeds' SD ({t['sd']:.0f}) the exact sign-flip "
              f"test at α = 0.05 detects a true +50 in {100 * power[50]:.0f} % and +100 in {100 * power[100]:.0f} % "
              "of simulated repetitions (normal differences).")
else:
    not_ready("mechanism")

# %% [markdown]
# **The mechanism differences by range of rounds** (exploratory: ranges chosen after the data were seen, no test):
# the same per-seed differences over rounds 6–11 (26 % to 10.7 % of the weights), 12–16 and 17–21, mean and 95 % t
# interval over the 15 seeds.

# %%
RANGES = {"rounds 6–11": (6, 11), "rounds 12–16": (12, 16), "rounds 17–21": (17, 21)}
if progress.loc["mechanism", "ready"]:
    part = family_rows("mechanism")
    by_range = {(f"{better} − {than}", name): interval_text(differences("mechanism", part, better, than, rounds))
                for name, rounds in RANGES.items()
                for better, than in [*MECHANISM_TESTS.values(), ("SNR", "magnitude")]}
    display(pd.Series(by_range).unstack()[list(RANGES)])   # noqa: F821  (IPython)

# %% [markdown]
# **The exploratory mechanism arms** (magnitude with the layer-wise distribution, |μ| over the kernel's mean σ; stream
# 0, the seeds they ran, no test): each finished arm's per-seed differences over the endpoint's rounds against
# magnitude and SNR of the same seeds, mean and 95 % t interval.

# %%
for arm in sorted(EXPLORATORY_ARMS):
    runs = results[(results["strategy"] == "SNES") & (results["arm"] == arm)]
    arm_seeds = sorted(runs["seed"].unique())
    if not len(runs):
        continue
    finished = [bool(done.get(("SNES", arm, 0, s), False)) for s in arm_seeds]
    if not all(finished):
        print(f"{arm} (exploratory): {sum(finished)} of {len(arm_seeds)} runs finished, no comparison yet")
        continue
    part = results[(results["strategy"] == "SNES") & results["arm"].isin([arm, "SNR", "magnitude"])
                   & (results["training_replicate"] == 0) & results["seed"].isin(arm_seeds)]
    part = part.assign(baseline=part["arm"])
    line = [f"{better} − {than} " + interval_text(analysis.seed_differences(
        part, better, than, first_round, last_round, perf=perf, seeds=arm_seeds, streams=[0])["difference"])
        for better, than in ((arm, "magnitude"), ("SNR", arm))]
    print(f"{arm} (exploratory, seeds {arm_seeds[0]}–{arm_seeds[-1]}, no test): " + "; ".join(line))

# %% [markdown]
# **Sep-CMA-ES** (5 seeds, both streams): "tie" if the 90 % t interval lies inside ±100 (TOST at α = 0.05) and the
# 95 % t interval includes 0; a rule is better if the 95 % interval excludes 0 and the 90 % one does not lie inside
# ±100; both at once is a difference smaller than the margin, and the verdict says both (amendment 2 of the plan);
# neither is inconclusive.

# %%
if progress.loc["Sep-CMA-ES", "ready"]:
    part = family_rows("Sep-CMA-ES")
    d = differences("Sep-CMA-ES", part, "SNR", "magnitude")
    v = analysis.equivalence_verdict(d.to_numpy(), equivalence_margin)
    verdict = analysis.sepcma_decision(v["verdict"], exploratory=exploratory["Sep-CMA-ES"])
    print(f"Sep-CMA-ES: {verdict}: mean {v['mean_difference']:+.1f}, 90 % [{v['low']:+.1f}, {v['high']:+.1f}] "
          f"(TOST p = {v['p_equivalence']:.4f}), 95 % [{v['t_low']:+.1f}, {v['t_high']:+.1f}] (paired t p = "
          f"{v['t_p']:.4f}).")
    print(f"Per seed ({len(d)}): " + ", ".join(f"seed {s} {x:+.1f}" for s, x in d.items()))
else:
    not_ready("Sep-CMA-ES")

# %% [markdown]
# **What the tickets still wire** (exploratory): per arm and round, the kept weights of the output kernel (64 in the
# dense 2×64 policy), the hidden units on a complete input→output path and the input units still wired, from every
# stored mask, mean over runs. SNES: noise stream 0, the one every arm trains in, so that the arms compare run for run.

# %%
wiring = []
for grid in GRIDS:
    for cell in sorted((Path(results_dir) / grid / "cells").glob("*")):
        rows = results[(results["grid"] == grid) & (results["cell"] == cell.name)]
        if (cell / "config.json").exists() and len(rows):
            w = stored_wiring(cell)
            first = rows.iloc[0]
            wiring.append(w.assign(arm=first["arm"], strategy=first["strategy"],
                                   training_replicate=first["training_replicate"]))
wiring = pd.concat(wiring, ignore_index=True)
snes_wiring = wiring[(wiring["strategy"] == "SNES") & (wiring["training_replicate"] == 0)]
snes_wiring.groupby(["round", "arm"])[["kept_weights_kernel2", "hidden_on_path", "inputs_wired"]].mean().unstack(
    "arm").loc[[1, 6, 12, 16, 21]].round(1)

# %% [markdown]
# **How far the Sep-CMA-ES tickets part** (exploratory): the share of one run's kept weights that another run of the
# same seed keeps too, mean over seeds, for the two rules within one noise stream and for one rule under the two
# streams (training noise alone); two random masks share `weights_remaining`. Beside it, the output-layer weights
# each arm keeps.

# %%
cell_of = {(row["arm"], row["training_replicate"]): Path(results_dir) / row["grid"] / "cells" / row["cell"]
           for _, row in results[results["strategy"] == "Sep_CMA_ES"].drop_duplicates("cell").iterrows()}
PAIRS = {"SNR and magnitude, stream 0": (("SNR", 0), ("magnitude", 0)),
         "SNR and magnitude, stream 1": (("SNR", 1), ("magnitude", 1)),
         "SNR, streams 0 and 1": (("SNR", 0), ("SNR", 1)),
         "magnitude, streams 0 and 1": (("magnitude", 0), ("magnitude", 1))}
shown = [2, 6, 12, 16, 21]
overlaps = {name: analysis.ticket_overlap(cell_of[a], cell_of[b]).groupby("round")[["overlap", "weights_remaining"]]
            .mean() for name, (a, b) in PAIRS.items() if a in cell_of and b in cell_of}
if overlaps:
    table = pd.DataFrame({name: o["overlap"] for name, o in overlaps.items()}).reindex(shown)
    table["random masks"] = next(iter(overlaps.values()))["weights_remaining"].reindex(shown)
    display(table.round(3))   # noqa: F821  (IPython)
    kept = wiring[wiring["strategy"] == "Sep_CMA_ES"].groupby(["round", "arm"])["kept_weights_kernel2"].mean()
    display(kept.unstack("arm").reindex(shown).round(1))   # noqa: F821  (IPython)

# %%
def draw_scores(ax, part: pd.DataFrame) -> None:
    """Each arm's test score against the weights remaining, mean over its runs (finished rounds only)."""
    for arm, rows in part.groupby("arm"):
        per_round = rows.groupby("round").agg(score=(perf, "mean"), remaining=("weights_remaining", "mean"))
        run_rounds = rows.groupby(["seed", "training_replicate"])["round"].nunique()
        tag = " (exploratory)" if arm in EXPLORATORY_ARMS else ""
        ax.plot(100 * per_round["remaining"], per_round["score"], marker="o", ms=3, color=COLOURS.get(arm),
                label=f"{arm}{tag} ({len(run_rounds)} runs, {int(run_rounds.eq(rounds).sum())} complete)")
    ax.set(ylabel=plots.PERF_LABELS.get(perf, perf))


snes, sepcma = (results[results["strategy"] == s] for s in ("SNES", "Sep_CMA_ES"))
fig, axes = plt.subplots(2, 2, figsize=(14, 8.4))
draw_scores(axes[0, 0], snes)
for arm, w in snes_wiring.groupby("arm"):
    w = w.groupby("round").mean(numeric_only=True)
    x = 100 * snes[snes["arm"] == arm].groupby("round")["weights_remaining"].mean().reindex(w.index)
    axes[0, 1].plot(x, w["kept_weights_kernel2"], marker="o", ms=3, color=COLOURS.get(arm), label=arm)
    axes[1, 0].plot(x, w["hidden_on_path"], marker="o", ms=3, color=COLOURS.get(arm), label=arm)
draw_scores(axes[1, 1], sepcma)
unfinished = ("" if progress.loc["mechanism", "ready"] else "\n(mechanism arms unfinished, not yet tested)"
              if progress.loc["primary", "ready"] else "\n(unfinished: no test yet)")
axes[0, 0].set(title="SNES: test return, mean over runs" + unfinished)
axes[0, 1].set(title="SNES, stream 0: kept output-layer weights (of 64)", ylabel="weights", yscale="log")
axes[1, 0].set(title="SNES, stream 0: hidden units on an input→output path (of 128)", ylabel="units")
axes[1, 1].set(title="Sep-CMA-ES, the paper's Pendulum strategy: test return"
               + ("" if progress.loc["Sep-CMA-ES", "ready"] else "\n(unfinished: no test yet)"))
for ax in axes.flat:
    plots.percent_axis(ax, 100 * results["weights_remaining"])
    ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
fig.suptitle("Pendulum-v1 at the paper's budget: the pre-registered arms", fontsize=10)
Path(figure_dir).mkdir(exist_ok=True)
plots.save(fig, Path(figure_dir) / "fig10_preregistered.png")
plt.show()
