"""The paper's networks as flax modules (Lange & Sprekeler 2023, their networks' description)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from .validate import choice

#: Bias initialiser used by the paper for the vision CNN and the Brax MLPs.
small_uniform_bias = nn.initializers.uniform(scale=0.05)
#: Hidden-layer activations an MLP can use, by name.
ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "swish": nn.swish}


class VisionCNN(nn.Module):
    """Conv(8,5x5)-ReLU-pool-Conv(16,5x5)-ReLU-pool-Dense(10)-log_softmax: 11,240 kernel weights, 34 biases.

    ``precision`` (lax's, e.g. "highest") and ``dtype`` (of the computation; parameters stay float32) only change
    the arithmetic, never the parameters.
    """

    num_classes: int = 10
    features: Sequence[int] = (8, 16)
    precision: str | None = None
    dtype: Any = None

    @nn.compact
    def __call__(self, x):
        for f in self.features:
            x = nn.Conv(f, (5, 5), padding="SAME", bias_init=small_uniform_bias, precision=self.precision,
                        dtype=self.dtype)(x)
            x = nn.max_pool(nn.relu(x), (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[:-3] + (-1,))
        x = nn.Dense(self.num_classes, bias_init=small_uniform_bias, precision=self.precision, dtype=self.dtype)(x)
        return nn.log_softmax(x.astype(jnp.float32))


class MLP(nn.Module):
    """MLP policy: hidden layers (tanh by default; see ``ACTIVATIONS``), then a linear (or tanh) output layer."""

    num_outputs: int
    hidden: Sequence[int] = (64, 64)
    tanh_output: bool = False
    small_bias_init: bool = False
    activation: str = "tanh"

    def __post_init__(self):
        choice("activation", self.activation, ACTIVATIONS)
        super().__post_init__()

    @nn.compact
    def __call__(self, x):
        bias_init = small_uniform_bias if self.small_bias_init else nn.initializers.zeros
        act = ACTIVATIONS[self.activation]
        for h in self.hidden:
            x = act(nn.Dense(h, bias_init=bias_init)(x))
        x = nn.Dense(self.num_outputs, bias_init=bias_init)(x)
        return jnp.tanh(x) if self.tanh_output else x


class MinAtarCNN(nn.Module):
    """Conv(16,3x3)-ReLU-Dense(48)-ReLU-Dense(actions) for MinAtar's 10x10xC boards."""

    num_outputs: int

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(16, (3, 3), padding="SAME")(x))
        x = x.reshape(x.shape[:-3] + (-1,))
        x = nn.relu(nn.Dense(48)(x))
        return nn.Dense(self.num_outputs)(x)
