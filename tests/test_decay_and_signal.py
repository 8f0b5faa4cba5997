"""Two reachable settings with real behaviour to check: the L2 form of mean decay, and pruning by the best mean."""

import jax
import jax.numpy as jnp
import numpy as np

from lottery_kit import masks
from lottery_kit.imp import seed_keys
from lottery_kit.pruning import BASELINES
from lottery_kit.trainers import ESTrainer


def _train(task, **settings):
    init = task.init_params_batch(seed_keys([0, 1], 0))
    mask = jax.vmap(masks.dense_mask)(init)
    trainer = ESTrainer("SNES", popsize=16, generations=30, eval_every=10, progress=False, **settings)
    outcome, _ = trainer(task, init, mask, seed_keys([0, 1], 1), init)
    return outcome


def _norms(tree):
    return np.asarray(jax.vmap(lambda t: jnp.linalg.norm(masks.ravel(t)[0]))(tree))


def test_l2_decay_penalises_large_weights(cartpole):
    """decay_mode="l2" turns mean_decay into evosax's L2 penalty in fitness shaping: with the same keys, the search
    ends nearer zero than without it in every seed (a sign error would push it further out). The effect is modest
    here: the random walk of the search (σ²·dims a generation, the same for every member, so no ranking sees it)
    drives the norm from about 12 to about 29 in 30 generations either way."""
    free = _train(cartpole)
    penalised = _train(cartpole, mean_decay=0.5, decay_mode="l2")
    assert np.all(_norms(penalised.final_mean) < 0.97 * _norms(free.final_mean))
    assert ESTrainer("SNES", mean_decay=0.5, decay_mode="l2", progress=False).config()["decay_mode"] == "l2"


def test_signal_best_prunes_by_the_validation_best_mean(cartpole):
    outcome = _train(cartpole)
    one = jax.tree_util.tree_map(lambda a: a[0], outcome)
    assert not np.allclose(masks.ravel(one.best_mean)[0], masks.ravel(one.final_mean)[0])   # they differ here
    n_keep = masks.num_prunable(one.init) // 4
    for signal, chosen in (("best", one.best_mean), ("final", one.final_mean)):
        _, mask = BASELINES["final-ticket"](jax.random.key(0), one, n_keep, cartpole, signal=signal)
        kept = np.asarray(masks.flat_prunable(mask)[0])
        magnitude = np.abs(np.asarray(masks.flat_prunable(chosen)[0]))
        assert kept.sum() == n_keep and magnitude[kept].min() >= magnitude[~kept].max()
