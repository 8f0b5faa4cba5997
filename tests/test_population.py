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


#: Float32 arithmetic for every side of a comparison (accelerators default to TF32 matrix units; CPUs are float32).
float32 = jax.default_matmul_precision("highest")


@pytest.mark.parametrize("pop", [1, 5, 16, 19])  # chunk boundaries: fewer, equal, more than one chunk
def test_fast_cnn_matches_flax(pop):
    net = VisionCNN()
    params = _pop(net, (28, 28, 1), pop)
    x = jax.random.normal(jax.random.key(1), (12, 28, 28, 1))
    with float32:
        fast = jax.jit(population.cnn_population_logprobs)(params, x)
        np.testing.assert_allclose(fast, _reference(net, params, x), atol=2e-5, rtol=1e-5)
    assert fast.shape == (pop, 12, 10)


@pytest.mark.parametrize("shared_batch", [True, False])
def test_fast_cnn_under_vmap_over_seeds(shared_batch):
    net = VisionCNN()
    params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), _pop(net, (28, 28, 1), 6, 0), _pop(net, (28, 28, 1), 6, 1))
    xs = jax.random.normal(jax.random.key(2), (2, 8, 28, 28, 1))
    with float32:
        if shared_batch:
            got = jax.jit(jax.vmap(population.cnn_population_logprobs, in_axes=(0, None)))(params, xs[0])
        else:
            got = jax.jit(jax.vmap(population.cnn_population_logprobs))(params, xs)
        for s in range(2):
            want = _reference(net, jax.tree_util.tree_map(lambda a: a[s], params), xs[0] if shared_batch else xs[s])
            np.testing.assert_allclose(got[s], want, atol=2e-5, rtol=1e-5)


@pytest.mark.slow
def test_apply_shared_dispatches_and_agrees_for_every_network():
    for module, shape in ((VisionCNN(), (28, 28, 1)), (MLP(3, (64, 64)), (5,)), (MinAtarCNN(4), (10, 10, 4))):
        params = _pop(module, shape, 4)
        x = jax.random.normal(jax.random.key(3), (7,) + shape)
        for backend in ("fast", "vmap"):
            with float32:
                got = population.apply_shared(module, params, x, backend=backend)
                np.testing.assert_allclose(got, _reference(module, params, x), atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("precision, atol", [("float32", 2e-5), ("tf32", 5e-3), ("bf16", 0.15)])
def test_vmapped_cnn_precision_and_chunks_against_float32(precision, atol):
    net = VisionCNN()
    params = _pop(net, (28, 28, 1), 5)
    xs = jax.random.normal(jax.random.key(5), (2, 9, 28, 28, 1))
    with float32:
        want = [_reference(net, params, x) for x in xs]
    with jax.default_matmul_precision("default"):   # the device's own arithmetic for "tf32" (conftest sets float32)
        whole = population.apply_shared(net, params, xs[0], "vmap", None, precision)
        assert whole.dtype == jnp.float32 and whole.shape == (5, 9, 10)
        np.testing.assert_allclose(whole, want[0], atol=atol)
        for chunk in (1, 2, "auto"):  # 2: two full chunks and a padded one
            np.testing.assert_allclose(population.apply_shared(net, params, xs[0], "vmap", chunk, precision), want[0],
                                       atol=atol)
        # vmapped over seeds with their own batches: each seed as when alone, chunks and all
        seeds_params = jax.tree_util.tree_map(lambda a: jnp.stack([a, a[::-1]]), params)
        got = jax.jit(jax.vmap(lambda p, x: population.apply_shared(net, p, x, "vmap", 2, precision)))(seeds_params, xs)
        np.testing.assert_allclose(got[0], want[0], atol=atol)
        np.testing.assert_allclose(got[1], want[1][::-1], atol=atol)


def test_auto_vision_chunk_fits_the_device_memory():
    # the paper's scale, pop 128 x batch 1024 (~51 MB of activations a member): an 11 GB card needs two chunks,
    # an 80 GB card none; five seeds merged (640 members) take six chunks of 107 on 11 GB; CPUs never chunk
    assert population.auto_vision_chunk(128, 1024, memory=11 * 2**30) == 64
    assert population.auto_vision_chunk(128, 1024, memory=80 * 2**30) == 128
    assert population.auto_vision_chunk(640, 1024, memory=11 * 2**30) == 107
    assert population.auto_vision_chunk(640, 1024, itemsize=2, memory=11 * 2**30) == 214  # bf16 halves it
    assert population.auto_vision_chunk(640, 1024, memory=None if jax.default_backend() == "cpu" else 0) == 640


def test_map_population_chunks_and_merges_seeds():
    module = MLP(2, (64, 64))
    params = _pop(module, (4,), 7)
    xs = jax.random.normal(jax.random.key(4), (7, 9, 4))
    per_member = lambda p, x: jax.vmap(module.apply)(p, x)  # noqa: E731
    with float32:
        want = per_member(params, xs)
    for chunk in (None, 1, 3, 7, 100):  # 3: two full chunks and a padded one
        with float32:
            np.testing.assert_allclose(population.map_population(per_member, chunk)(params, xs), want, atol=1e-6)
    # vmapped over seeds (inputs batched, or one input shared by the seeds): same as each seed on its own
    seeds_params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), params, _pop(module, (4,), 7, seed=1))
    seeds_xs = jnp.stack([xs, xs + 1.0])
    chunked = population.map_population(per_member, 3)
    for x_axis, x in ((0, seeds_xs), (None, xs)):
        with float32:
            got = jax.jit(jax.vmap(chunked, in_axes=(0, x_axis)))(seeds_params, x)
            for s in range(2):
                one = jax.tree_util.tree_map(lambda a: a[s], seeds_params)
                np.testing.assert_allclose(got[s], per_member(one, x if x_axis is None else x[s]), atol=1e-6)


def test_rollout_returns_do_not_depend_on_chunks_or_seed_batching():
    from lottery_kit import make_task

    returns = {}
    for chunk in (None, 3, "auto"):
        task = make_task("Pendulum-v1", n_rollouts=2, max_steps=50, population_chunk=chunk)
        params = jax.vmap(task.init_params)(jax.random.split(jax.random.key(0), 2 * 10))
        seeds_params = jax.tree_util.tree_map(lambda a: a.reshape((2, 10) + a.shape[1:]), params)
        keys = jax.random.split(jax.random.key(1), 2)
        fitness = lambda p, k: task.fitness(p, k, None, None)[0]  # noqa: E731
        vmapped = jax.jit(jax.vmap(fitness))(seeds_params, keys)
        for s in range(2):
            alone = jax.jit(fitness)(jax.tree_util.tree_map(lambda a: a[s], seeds_params), keys[s])
            np.testing.assert_allclose(vmapped[s], alone, rtol=1e-5)
        returns[chunk] = np.asarray(vmapped)
    assert np.all(returns[None] < 0) and np.std(returns[None]) > 0  # real, member-dependent Pendulum returns
    for chunk in (3, "auto"):
        np.testing.assert_allclose(returns[chunk], returns[None], rtol=1e-5)


def test_auto_chunk_keeps_memory_bound_chunks_in_cache():
    kib = 1024
    # CartPole's MLP (18 KiB a member), one rollout: memory-bound, so ~1 MiB chunks spread evenly
    assert population.auto_chunk(100, 18 * kib, 1, backend="cpu") == 50
    assert population.auto_chunk(400, 18 * kib, 1, backend="cpu") == 50
    assert population.auto_chunk(32, 18 * kib, 4, backend="cpu") == 32
    # eight rows a member is compute-bound, and GPUs never chunk
    assert population.auto_chunk(400, 18 * kib, 8, backend="cpu") == 400
    assert population.auto_chunk(400, 18 * kib, 1, backend="gpu") == 400
    # MinAtar's CNN (307 KiB a member): 256 members stream 77 MiB a step even at eight rollouts, so chunk,
    # and huge members still come at least MIN_CHUNK at a time
    assert population.auto_chunk(256, 307 * kib, 8, backend="cpu") == 16
    assert population.auto_chunk(250, 307 * kib, 1, backend="cpu") == 16  # 16 chunks of 16, minimal padding


@pytest.mark.parametrize("bad", [0, -2, 2.5, "fast", True])
def test_bad_population_chunk_is_named(bad):
    from lottery_kit import ConfigError, make_task

    with pytest.raises(ConfigError, match="population_chunk"):
        make_task("CartPole-v1", population_chunk=bad)
