"""The numerical guard: a round that turns NaN stops with a clear error, and the run stays resumable."""

import jax.numpy as jnp
import numpy as np
import pytest

import lottery_kit as lk
from lottery_kit import guard
from lottery_kit.store import RunStore


def test_es_failure_codes_and_the_first_failure_kept():
    ok = dict(fitness_means=jnp.ones(5), mean=jnp.zeros(3), std=jnp.full(3, 0.1))
    assert int(guard.es_failure(**ok)[0]) == 0
    code, offset = guard.es_failure(**(ok | {"fitness_means": jnp.array([1.0, 1.0, jnp.nan, 1.0, jnp.inf])}))
    assert (int(code), int(offset)) == (1, 2)
    assert int(guard.es_failure(**(ok | {"mean": jnp.array([0.0, jnp.inf, 0.0])}))[0]) == 2
    assert int(guard.es_failure(**(ok | {"std": jnp.array([0.1, jnp.nan, 0.1])}))[0]) == 3
    assert int(guard.es_failure(**(ok | {"std": jnp.array([0.1, 1e-30, 0.1])}))[0]) == 4
    assert int(guard.es_failure(**(ok | {"std": jnp.array([0.1, 1e5, 0.1])}))[0]) == 5
    failure = guard.first(jnp.array(0), jnp.array(0), jnp.array(4), jnp.array(30))
    assert [int(v) for v in guard.first(*failure, jnp.array(1), jnp.array(60))] == [4, 30]
    both = guard.es_failure(**(ok | {"mean": jnp.array([0.0, jnp.nan, 0.0]), "std": jnp.array([0.1, 1e-30, 0.1])}))
    assert int(both[0]) == guard.Failure.MEAN_NOT_FINITE   # the first check that holds names the block


def test_failure_codes_keep_the_values_results_store():
    assert {f.name: f.value for f in guard.Failure} == {
        "NONE": 0, "FITNESS_NOT_FINITE": 1, "MEAN_NOT_FINITE": 2, "SIGMA_NOT_FINITE": 3, "SIGMA_COLLAPSED": 4,
        "SIGMA_EXPLODED": 5, "LOSS_NOT_FINITE": 6, "WEIGHTS_NOT_FINITE": 7}
    assert set(guard.FAILURES) == set(guard.Failure) - {guard.Failure.NONE}
    assert [int(v) for v in guard.no_failure()] == [0, 0]
    assert [int(guard.unless(ok, guard.Failure.LOSS_NOT_FINITE)) for ok in (True, False)] == [0, 6]


def test_a_nan_round_stops_with_the_guards_message_and_resumes(cartpole, tmp_path, nan_when_sparse):
    trainer = lk.ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False)
    n = 4 * 64 + 64 * 64 + 64 * 2
    broken = nan_when_sparse(cartpole, kept_below=n)   # round 1 is dense; round 2 keeps half
    with pytest.raises(guard.NumericalError) as caught:
        lk.run_imp(broken, trainer, "final-ticket", seeds=[3, 4], rounds=3, keep_ratio=0.5, out_dir=tmp_path,
                   progress=False)
    message = str(caught.value)
    assert message.startswith("round 2, generation 1, seed 3: the training fitness is not finite")
    assert "Try a smaller std_init" in message and "running again resumes at round 2" in message
    store = RunStore(tmp_path)
    assert store.last_done_round() == 1     # round 1 stayed, round 2 was never stored
    rows = lk.run_imp(cartpole, trainer, "final-ticket", seeds=[3, 4], rounds=3, keep_ratio=0.5, out_dir=tmp_path,
                      progress=False)
    assert sorted(rows["round"].unique()) == [1, 2, 3] and np.isfinite(rows["final_perf"]).all()


def test_a_collapsing_sigma_is_caught(cartpole):
    """A σ forced below the floor by a settings override (SNES's σ learning rate) is reported, not trained on."""
    trainer = lk.ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False,
                           settings={"std_init": 1e-21})
    with pytest.raises(guard.NumericalError, match="collapsed below 1e-20"):
        lk.run_imp(cartpole, trainer, "final-ticket", seeds=[0], rounds=1, progress=False)
