"""The fast population kernel agrees with the plain flax forward pass, member by member."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery_kit import population
from lottery_kit.networks import MLP, MinAtarCNN, VisionCNN


def _pop(module, shape, n, seed=0):
    keys = jax.random.split(jax.random.key(seed), n)
    return jax.vmap(lambda k: module.init(k, jnp.zeros((1,) + shape)))(keys)


def _reference(module, pop_params, x):
    return jnp.stack([module.apply(jax.tree_util.tree_map(lambda a: a[i], pop_params), x)
                      for i in range(jax.tree_util.tree_leaves(pop_params)[0].shape[0])])


@pytest.mark.parametrize("pop", [1, 5, 16, 19])  # chunk boundaries: fewer, equal, more than one chunk
def test_fast_cnn_matches_flax(pop):
    net = VisionCNN()
    params = _pop(net, (28, 28, 1), pop)
    x = jax.random.normal(jax.random.key(1), (12, 28, 28, 1))
    fast = jax.jit(population.cnn_population_logprobs)(params, x)
    np.testing.assert_allclose(fast, _reference(net, params, x), atol=2e-5, rtol=1e-5)
    assert fast.shape == (pop, 12, 10)


@pytest.mark.parametrize("shared_batch", [True, False])
def test_fast_cnn_under_vmap_over_seeds(shared_batch):
    net = VisionCNN()
    params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), _pop(net, (28, 28, 1), 6, 0), _pop(net, (28, 28, 1), 6, 1))
    xs = jax.random.normal(jax.random.key(2), (2, 8, 28, 28, 1))
    if shared_batch:
        got = jax.jit(jax.vmap(population.cnn_population_logprobs, in_axes=(0, None)))(params, xs[0])
    else:
        got = jax.jit(jax.vmap(population.cnn_population_logprobs))(params, xs)
    for s in range(2):
        want = _reference(net, jax.tree_util.tree_map(lambda a: a[s], params), xs[0] if shared_batch else xs[s])
        np.testing.assert_allclose(got[s], want, atol=2e-5, rtol=1e-5)


def test_apply_shared_dispatches_and_agrees_for_every_network():
    for module, shape in ((VisionCNN(), (28, 28, 1)), (MLP(3, (64, 64)), (5,)), (MinAtarCNN(4), (10, 10, 4))):
        params = _pop(module, shape, 4)
        x = jax.random.normal(jax.random.key(3), (7,) + shape)
        for backend in ("fast", "vmap"):
            got = population.apply_shared(module, params, x, backend=backend)
            np.testing.assert_allclose(got, _reference(module, params, x), atol=2e-5, rtol=1e-5)


def test_apply_per_member_matches():
    module = MLP(2, (64, 64))
    params = _pop(module, (4,), 3)
    xs = jax.random.normal(jax.random.key(4), (3, 9, 4))
    got = population.apply_per_member(module, params, xs)
    for i in range(3):
        np.testing.assert_allclose(got[i], module.apply(jax.tree_util.tree_map(lambda a: a[i], params), xs[i]),
                                   atol=1e-5)
