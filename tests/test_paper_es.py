"""Golden tests: the paper's evolution strategies (es_rules="paper") match evosax 0.1.4, generation by generation.

The fixtures come from evosax 0.1.4 itself (``tests/golden/record_evosax014.py``, run in a throwaway environment):
for each case and problem, 0.1.4's population on recorded keys, its fitness and its state after every tell. Here the
kit asks on the same keys (the population must match), tells 0.1.4's population and fitness (the state must match),
and carries its own state on. The "ties" problem has ~6 tied members a generation, which exercises ordinal ranks.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery_kit.paper_es import ordinal_ranks, temperature_weights
from lottery_kit.strategies import make_strategy
from lottery_kit.trainers.es import Generation

HERE = Path(__file__).parent / "golden"
SPEC = json.loads((HERE / "cases.json").read_text())
GOLDEN = np.load(HERE / "evosax014.npz")
TOL = dict(rtol=2e-5, atol=2e-6)


def replay(case_name: str, problem: str, rules: str = "paper"):
    """Run the kit's strategy along 0.1.4's recorded trajectory; yield (generation, kit values, 0.1.4 values)."""
    case = SPEC["cases"][case_name]
    rec = {k.split("/")[-1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(f"{case_name}/{problem}/")}
    settings = case["settings"]
    if rules == "evosax-0.3":   # it has no decays of its own to set
        settings = {k: v for k, v in settings.items() if k in ("lr", "std_init", "temperature", "elite_ratio")}
    spec = make_strategy(case.get("strategy", case_name), SPEC["popsize"], SPEC["num_dims"], overrides=settings,
                         rules=rules)
    step = Generation(task=None, spec=spec, unravel=None, shrink=1.0 - SPEC["mean_decay"])
    ask = jax.jit(lambda key, state: spec.es.ask(key, state, spec.params))
    tell = jax.jit(lambda key, x, f, state: step.tell(key, x, f, state))
    state = spec.es.init(jax.random.PRNGKey(0), jnp.asarray(rec["x0"]), spec.params)
    for g, key in enumerate(rec["keys"]):
        x, state = ask(key, state)
        state = tell(key, jnp.asarray(rec["x"][g]), jnp.asarray(rec["fitness"][g]), state)
        ours = {"x": x, "mean": state.mean, "std": spec.per_weight_std(state)}
        theirs = {"x": rec["x"][g], "mean": rec["mean"][g], "std": rec["std"][g]}
        if "C" in rec:
            ours |= {"sigma": state.std, "C": state.C}
            theirs |= {"sigma": rec["sigma"][g], "C": rec["C"][g]}
        yield g, ours, theirs


@pytest.mark.parametrize("problem", SPEC["problems"])
@pytest.mark.parametrize("case_name", list(SPEC["cases"]))
def test_paper_rules_match_evosax_014(case_name, problem):
    assert str(GOLDEN["evosax_version"]) == "0.1.4"
    for g, ours, theirs in replay(case_name, problem):
        for name in theirs:
            np.testing.assert_allclose(np.asarray(ours[name]), theirs[name], **TOL,
                                       err_msg=f"{case_name}/{problem}: {name} after generation {g + 1}")


@pytest.mark.parametrize("case_name", ["SNES", "Sep_CMA_ES", "PGPE", "Open_ES"])
def test_evosax_03_rules_differ_from_the_paper(case_name):
    """The golden test can fail: evosax 0.3.2's rules leave 0.1.4's trajectory (σ or the mean) within 20 generations."""
    worst = 0.0
    for _, ours, theirs in replay(case_name, "ties", rules="evosax-0.3"):
        worst = max(worst, *(float(np.max(np.abs(np.asarray(ours[k]) - theirs[k]) / (np.abs(theirs[k]) + 1e-3)))
                             for k in ("mean", "std")))
    assert worst > 1e-2


def test_ordinal_ranks_break_ties_by_index_and_put_nan_last():
    fitness = jnp.array([3.0, 1.0, 3.0, jnp.nan, 1.0, 0.0])
    np.testing.assert_array_equal(ordinal_ranks(fitness), [3, 1, 4, 5, 2, 0])


def test_snes_temperature_weights_are_the_paper_not_des_form():
    """0.1.4's weights fall geometrically: at temperature 12 and population 32 the 5th-best gets 0.21 of the best's
    weight and the effective number of parents is 5.2 (DES's sigmoid form would give 0.83 and 9.4)."""
    w = np.asarray(temperature_weights(32, 12.0))
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    assert w[4] / w[0] == pytest.approx(0.21, abs=0.01)
    assert 1 / np.sum(w ** 2) == pytest.approx(5.2, abs=0.1)
