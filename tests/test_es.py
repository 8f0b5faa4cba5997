"""ES training: masks respected in every generation, learning happens, σ conventions."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import ConfigError, ESTrainer, analysis, masks
from lottery_kit.pruning import BASELINES


def _sparse_start(task, keys, n_keep):
    init = task.init_params_batch(keys)
    mask = jax.vmap(lambda k, p: masks.random_mask(k, p, n_keep))(keys, init)
    return jax.vmap(masks.apply)(init, mask), mask


@pytest.mark.slow
def test_pruned_weights_stay_exactly_zero_in_every_generation(digits, keys):
    init, mask = _sparse_start(digits, keys, 2000)
    leaks = []
    trainer = ESTrainer("SNES", popsize=16, generations=20, eval_every=10, progress=False)

    # record every population the fitness sees, per seed, through a callback
    def recording_fitness(pop_params, key, data, fs):
        jax.debug.callback(lambda p: leaks.append(p), pop_params)
        return digits.fitness(pop_params, key, data, fs)

    watched = dataclasses.replace(digits, fitness=recording_fitness)
    outcome, _ = trainer(watched, init, mask, keys, init)
    assert len(leaks) >= 20 * len(keys)  # under vmap the callback fires once per seed and generation
    seed_masks = [jax.tree_util.tree_map(lambda m: np.asarray(m[i]), mask) for i in range(len(keys))]

    def respects(pop, m):
        return all(np.all(w[:, ~mk] == 0) and np.any(w[:, mk] != 0)
                   for w, mk in zip(jax.tree_util.tree_leaves(pop), jax.tree_util.tree_leaves(m)))

    for pop in leaks:  # every member of every evaluated population is zero exactly where its seed pruned
        pop = jax.tree_util.tree_map(np.asarray, pop)
        assert sum(respects(pop, m) for m in seed_masks) == 1
    for tree in (outcome.final_mean, outcome.best_mean):
        for w, m in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(mask)):
            assert np.all(np.asarray(w)[~np.asarray(m)] == 0)


def test_es_solves_dense_cartpole(cartpole, keys):
    init = cartpole.init_params_batch(keys)
    trainer = ESTrainer("SNES", popsize=32, generations=40, eval_every=20, progress=False)
    _, metrics = trainer(cartpole, init, jax.vmap(masks.dense_mask)(init), keys, init)
    assert np.all(np.asarray(metrics["best_perf"]) == 500.0)  # the 500-step cap


@pytest.mark.slow
def test_es_learns_digits_well_above_chance(keys):
    digits = lk.make_task("digits", batch_size=64)   # a quarter of the shared fixture's batch: 0.75 after 150 generations
    init = digits.init_params_batch(keys)
    trainer = ESTrainer("SNES", popsize=32, generations=150, eval_every=50, progress=False)
    _, metrics = trainer(digits, init, jax.vmap(masks.dense_mask)(init), keys, init)
    acc = np.asarray(metrics["best_perf"])
    assert np.all(acc > 0.6), acc  # chance is 0.1
    assert np.all(np.diff(np.asarray(metrics["val_curve"]), axis=1).sum(axis=1) > 0)  # it improved


@pytest.mark.slow
def test_sigma_conventions_for_sep_cma_es(cartpole, keys):
    init = cartpole.init_params_batch(keys[:1])
    mask = jax.vmap(masks.dense_mask)(init)
    out = {}
    for conv in ("per_weight_std", "original"):
        trainer = ESTrainer("Sep_CMA_ES", popsize=16, generations=10, eval_every=10, sigma_convention=conv,
                            progress=False)
        outcome, _ = trainer(cartpole, init, mask, keys[:1], init)
        out[conv] = np.asarray(masks.ravel(jax.tree_util.tree_map(lambda a: a[0], outcome.final_std))[0])
    # per-weight std = σ·sqrt(C_ii): about σ0 = 0.1 early on; the original C_ii form is about 1
    assert 0.05 < np.median(out["per_weight_std"]) < 0.2
    assert 0.5 < np.median(out["original"]) < 2.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(popsize=1), "popsize"),
    (dict(generations=30, eval_every=20), "multiple of eval_every"),
    (dict(strategy="NoSuchES"), "valid strategy names: .*SNES"),
    (dict(sigma_convention="sqrt"), "per_weight_std"),
    (dict(mean_decay=1.5), "mean_decay"),
])
def test_trainer_rejects_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ESTrainer(**kwargs)


@pytest.mark.slow
def test_snr_pruning_after_real_training_differs_from_magnitude(digits, keys):
    init = digits.init_params_batch(keys[:1])
    trainer = ESTrainer("SNES", popsize=16, generations=20, eval_every=10, progress=False)
    outcome, _ = trainer(digits, init, jax.vmap(masks.dense_mask)(init), keys[:1], init)
    one = jax.tree_util.tree_map(lambda a: a[0], outcome)
    _, snr = BASELINES["sig2noise"](jax.random.key(0), one, 5000, digits)
    _, mag = BASELINES["final-ticket"](jax.random.key(0), one, 5000, digits)
    a, b = (np.asarray(masks.flat_prunable(m)[0]) for m in (snr, mag))
    assert a.sum() == b.sum() == 5000 and (a != b).sum() > 0
    assert jnp.all(outcome.final_std["params"]["Dense_0"]["kernel"] > 0)


@pytest.mark.parametrize("strategy", ["SNES", "Sep_CMA_ES", "PGPE", "DiscoveredES", "Open_ES"])
def test_masked_search_equals_the_search_over_the_kept_weights(strategy):
    """The masked layout (all N weights, pruned ones held at zero, settings made for k) evolves the kept weights
    exactly as the k-dimensional search does when both see the same population, and pruned entries stay 0."""
    from dataclasses import replace

    import jax.numpy as jnp

    from lottery_kit.strategies import make_strategy
    from lottery_kit.trainers.es import Generation

    n, pop = 30, 8
    mask = jnp.asarray(np.random.default_rng(0).permutation(n) < 17)
    idx = jnp.flatnonzero(mask)
    target = jax.random.normal(jax.random.key(1), (idx.size,))
    x0 = jnp.where(mask, 0.1 * jax.random.normal(jax.random.key(2), (n,)), 0.0)
    spec_k = make_strategy(strategy, pop, idx.size)
    spec_n = replace(make_strategy(strategy, pop, n), params=spec_k.params)
    state_k = spec_k.es.init(jax.random.key(3), x0[idx], spec_k.params)
    state_n = spec_n.es.init(jax.random.key(3), x0, spec_k.params)
    kept = Generation(None, spec_k, None, shrink=0.999)
    masked = Generation(None, spec_n, None, shrink=0.999, keep=(mask, state_n))
    for g, key in enumerate(jax.random.split(jax.random.key(4), 25)):
        x_k, state_k = kept.ask(key, state_k)
        x_n, state_n = masked.ask(key, state_n)
        assert np.all(np.asarray(x_n)[:, ~np.asarray(mask)] == 0)
        x_n = jnp.zeros((pop, n)).at[:, idx].set(x_k)     # the same population in both layouts
        fitness = -jnp.sum((x_k - target) ** 2, axis=1)
        state_k = kept.tell(key, x_k, fitness, state_k)
        state_n = masked.tell(key, x_n, fitness, state_n)
        np.testing.assert_allclose(state_n.mean[idx], state_k.mean, rtol=1e-5, atol=1e-7, err_msg=f"gen {g}")
        np.testing.assert_allclose(spec_n.per_weight_std(state_n)[idx], spec_k.per_weight_std(state_k), rtol=1e-5,
                                   err_msg=f"gen {g}")
        assert np.all(np.asarray(state_n.mean)[~np.asarray(mask)] == 0)


@pytest.mark.slow
def test_masked_search_compiles_one_round_program_per_run(cartpole, compiled):
    trainer = ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False)
    rows = lk.run_imp(cartpole, trainer, "sig2noise", seeds=[0, 1], rounds=3, keep_ratio=0.5, progress=False)
    assert sorted(rows["kept_weights"].unique()) == [1120, 2240, 4480]
    assert compiled.count("jit(run)") == 1


def test_a_training_replicate_shares_the_dense_round_and_then_trains_under_other_noise(cartpole, tmp_path):
    trainer = ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=False)
    runs = {k: lk.run_imp(cartpole, trainer, "final-ticket", seeds=[0, 1], rounds=3, keep_ratio=0.5,
                          out_dir=tmp_path / f"replicate_{k}", progress=False, training_replicate=k) for k in (0, 1)}
    one, other = (runs[k].sort_values(["round", "seed"]).reset_index(drop=True) for k in (0, 1))
    first = one["round"] == 1
    pd.testing.assert_frame_equal(one[first], other[first])            # θ0 and the dense round: the seed's own
    assert not np.array_equal(one.loc[~first, "final_perf"], other.loc[~first, "final_perf"])   # other noise after it
    art0, art1 = (lk.load_round(tmp_path / f"replicate_{k}", seed=1, round=2) for k in (0, 1))
    for a, b in zip(jax.tree_util.tree_leaves(art0["init"]), jax.tree_util.tree_leaves(art1["init"])):
        np.testing.assert_array_equal(a, b)                             # the same ticket trained twice
    overlap = analysis.ticket_overlap(tmp_path / "replicate_1", tmp_path / "replicate_0")
    assert sorted(overlap["round"]) == [1, 1, 2, 2, 3, 3]   # two seeds
    assert (overlap.loc[overlap["round"] < 3, "overlap"] == 1.0).all()   # round 2 prunes the shared round 1
    third = [lk.load_round(tmp_path / f"replicate_{k}", seed=0, round=3)["mask"] for k in (1, 0)]
    a, b = (np.asarray(masks.flat_prunable(m)[0]) for m in third)
    row = overlap[(overlap["seed"] == 0) & (overlap["round"] == 3)].iloc[0]
    assert row["overlap"] == (a & b).sum() / a.sum() < 1.0 and row["weights_remaining"] == 0.25
    assert lk.load_config(tmp_path / "replicate_1")["config"]["training_replicate"] == 1
    assert "training_replicate" not in lk.load_config(tmp_path / "replicate_0")["config"]   # old runs keep their identity
    with pytest.raises(lk.ConfigError, match="training_replicate=-1 is out of range"):
        lk.run_imp(cartpole, trainer, "final-ticket", seeds=[0], rounds=2, training_replicate=-1)
