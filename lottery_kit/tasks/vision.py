"""Image classification with the paper's CNN: fitness = -cross-entropy on a sampled training batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..data import ImageData, load_digits, load_idx_dataset
from ..networks import VisionCNN
from ..population import PRECISIONS, apply_shared, check_population_chunk, default_backend
from ..validate import ConfigError, choice
from .base import Task

VISION_TASKS = {"mnist": "mnist", "fmnist": "fmnist", "kmnist": "kmnist", "digits": None}


def _sample_batch(key, x, y, batch_size):
    idx = jax.random.choice(key, x.shape[0], (batch_size,), replace=False)
    return x[idx], y[idx]


def _chunked_accuracy(apply, params, x, y, chunk=1000):
    n = (x.shape[0] // chunk) * chunk
    xs, ys = x[:n].reshape((-1, chunk) + x.shape[1:]), y[:n].reshape(-1, chunk)
    correct = lax.map(lambda b: jnp.sum(jnp.argmax(apply(params, b[0]), -1) == b[1]), (xs, ys))
    rest = jnp.sum(jnp.argmax(apply(params, x[n:]), -1) == y[n:]) if n < x.shape[0] else 0
    return (jnp.sum(correct) + rest) / x.shape[0]


def make_vision_task(name: str, batch_size: int = 1024, data_dir=None, val_size: int | None = None,
                     population_backend: str | None = None, population_chunk="auto",
                     precision: str = "float32", network=None) -> Task:
    """``mnist``/``fmnist``/``kmnist`` from real IDX files, or ``digits`` (scikit-learn, for tiny runs).

    ``population_backend``: "fast" (CPU kernel), "vmap" (flax vmapped over members), or None (by device).
    ``population_chunk``: members per pass of the vmapped population ("auto": as many as fit the device's
    memory; None: all; or a number). ``precision`` of the population's forward pass: "float32" (the paper's),
    "tf32" or "bf16" (accelerators; see :data:`lottery_kit.population.PRECISIONS`). Validation and test scores
    are always computed in float32.
    """
    choice("population backend", population_backend or "fast", ("fast", "vmap"))
    check_population_chunk(population_chunk)
    choice("precision", precision, PRECISIONS)
    if precision == "bf16" and (population_backend or default_backend()) == "fast":
        raise ConfigError("precision='bf16' needs population_backend='vmap' (the default on accelerators); the CPU "
                          "kernel computes in float32")
    if name == "digits":
        images: ImageData = load_digits()
    else:
        images = load_idx_dataset(name, data_dir=data_dir, **({} if val_size is None else {"val_size": val_size}))
    data = {k: jnp.asarray(v) for k, v in images.__dict__.items()}
    batch_size = min(batch_size, images.x_train.shape[0])
    network = VisionCNN(precision="highest") if network is None else network

    def fitness(pop_params, key, data, fit_state):
        xb, yb = _sample_batch(key, data["x_train"], data["y_train"], batch_size)
        logp = apply_shared(network, pop_params, xb, population_backend, population_chunk, precision)  # (pop, B, 10)
        ll = jnp.take_along_axis(logp, yb[None, :, None], axis=-1)[..., 0]
        return ll.mean(axis=-1), fit_state

    def one_network(params, x):
        """The forward pass that scores: a population of one, so that seeds vmapped over become one population
        (on CPU the kernel's; a vmapped flax convolution took 3.5x as long for two seeds), in float32."""
        pop = jax.tree_util.tree_map(lambda a: a[None], params)
        return apply_shared(network, pop, x, population_backend, population_chunk, "float32")[0]

    def evaluate(params, key, data, fit_state, split):
        return _chunked_accuracy(one_network, params, data[f"x_{split}"], data[f"y_{split}"])

    def loss(params, key, data):
        xb, yb = _sample_batch(key, data["x_train"], data["y_train"], batch_size)
        logp = network.apply(params, xb)
        return -jnp.take_along_axis(logp, yb[:, None], axis=-1).mean()

    return Task(name=name, family="vision", network=network, input_shape=(28, 28, 1), data=data,
                fitness=fitness, evaluate=evaluate, score_name="test accuracy", loss=loss, default_popsize=128,
                rows_per_member=batch_size)
