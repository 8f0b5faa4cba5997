import os

import jax
import pytest

os.environ.setdefault("LOTTERY_KIT_OFFLINE", "1")  # tests never download


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
