import os

# Accelerators: reductions in a fixed order, so that bit-for-bit comparisons (a resumed run against an uninterrupted
# one) hold there as on CPU. Set before JAX starts its backends; CPU builds ignore the flag.
if "--xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):   # test workers inherit it from the parent
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_gpu_deterministic_ops=true".strip()

import jax  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("LOTTERY_KIT_OFFLINE", "1")  # tests never download
# One device per process (a CPU's cores are not split into host devices): the suite's workers fill the cores already.
# The processes the tests start inherit it; tests of runs spread over devices set their own count.
os.environ.setdefault("LOTTERY_KIT_DEVICES", "1")
# `make test` gives the tests and the processes they start (notebook kernels, grid cells, CLIs) one persistent
# compilation cache, so that equal programs compile once per suite. Tests that count compiles still see every program
# that is not in memory: JAX reports a backend compile for a persistent-cache hit too.
if jax.default_backend() != "cpu":
    # Float32 matrix arithmetic, as on CPU, so that the CPU tolerances hold unchanged on a GPU (whose default is TF32);
    # tests/test_population.py checks the TF32 and bf16 paths against float32 on purpose.
    jax.config.update("jax_default_matmul_precision", "float32")


@pytest.fixture(scope="session")
def digits():
    from lottery_kit import make_task

    return make_task("digits", batch_size=256)


@pytest.fixture(scope="session")
def cartpole():
    from lottery_kit import make_task

    return make_task("CartPole-v1", n_rollouts=2, n_eval_episodes=4)


@pytest.fixture
def keys():
    return jax.random.split(jax.random.key(0), 2)


@pytest.fixture
def compiled():
    """The names of the functions JAX compiles from here to the test's end (a persistent-cache hit counts too)."""
    names = []
    listener = lambda event, _, **kw: names.append(kw.get("fun_name")) if "backend_compile" in event else None  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    yield names
    jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def bar_positions(monkeypatch):
    """The position of every open progress bar after each report from a jitted loop: {description: [positions]}."""
    from lottery_kit.progress import Progress

    seen, tick = {}, Progress.tick

    def recorded(token, units, after):
        tick(token, units, after)
        for bar in Progress._bars.values():
            seen.setdefault(bar.desc, []).append(bar.n)

    monkeypatch.setattr(Progress, "tick", staticmethod(recorded))
    return seen


@pytest.fixture(scope="session")
def nan_when_sparse():
    """``make(task, kept_below)``: ``task`` whose training fitness is NaN for members with fewer than ``kept_below``
    nonzero kernel weights (a dense round trains normally, a pruned one turns NaN)."""
    import dataclasses

    import jax.numpy as jnp

    def make(task, kept_below: int):
        def fitness(pop, key, data, fit_state):
            values, fit_state = task.fitness(pop, key, data, fit_state)
            nonzero = sum(jnp.sum(leaf != 0, axis=tuple(range(1, leaf.ndim)))
                          for path, leaf in jax.tree_util.tree_leaves_with_path(pop) if path[-1].key == "kernel")
            return jnp.where(nonzero < kept_below, jnp.nan, values), fit_state
        return dataclasses.replace(task, fitness=fitness)
    return make


#: Notebook items carry no marks; these take more than ~30 s on 2 cores.
SLOW_NOTEBOOKS = {"fig6_connectivity.ipynb"}


def pytest_collection_modifyitems(config, items):
    """Slowest first: `make test` hands items to its workers in this order (``--no-loadscope-reorder``), so that no
    long item starts last and leaves the other workers idle."""
    items.sort(key=lambda item: not (item.get_closest_marker("slow") or item.name in SLOW_NOTEBOOKS))
