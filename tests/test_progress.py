"""A round's progress bar is full only when every seed has finished (the gradient trainers' case, seeds in turn
on CPU, is in ``tests/test_gd_trainers.py``); an ES round's seeds run at once and move it together."""

import jax
import pytest

import lottery_kit as lk
from lottery_kit import masks


def test_an_es_bar_moves_with_every_seeds_block_and_is_full_at_the_last(digits, bar_positions):
    keys = jax.random.split(jax.random.key(0), 3)
    init = digits.init_params_batch(keys)
    trainer = lk.ESTrainer("SNES", popsize=8, generations=4, eval_every=2, progress=True)
    trainer(digits, init, jax.vmap(masks.dense_mask)(init), keys, init, desc="round 1/1")
    # three seeds, two blocks of two generations each: each seed's report moves the bar by 2/3 of a generation
    assert bar_positions["round 1/1"] == pytest.approx([2 * i / 3 for i in range(1, 7)], abs=0.01)   # as drawn
