"""What a mask still wires: hand-made masks with known answers, the CNN's channels, and the IMP driver's columns."""

import jax
import numpy as np
import pytest

from lottery_kit import masks
from lottery_kit.wiring import stored_wiring, wiring


def _mlp_mask(*kernels):
    """A mask tree of an MLP with the given kernel masks (biases kept), in the kit's layer naming."""
    return {"params": {f"Dense_{i}": {"kernel": np.asarray(k, bool), "bias": np.ones(np.shape(k)[1], bool)}
                       for i, k in enumerate(kernels)}}


def test_dense_mlp_wires_everything():
    w = wiring(_mlp_mask(np.ones((3, 4)), np.ones((4, 4)), np.ones((4, 1))))
    assert w == {"kept_weights_kernel0": 12, "kept_weights_kernel1": 16, "kept_weights_kernel2": 4,
                 "inputs_wired": 3, "outputs_wired": 1, "hidden_on_path": 8}


def test_dead_ends_are_not_on_a_path():
    k0 = np.zeros((3, 4)); k0[0, 0] = k0[1, 1] = 1          # inputs 0, 1 feed hidden units 0, 1; input 2 feeds none
    k1 = np.zeros((4, 4)); k1[0, 2] = k1[1, 3] = k1[3, 0] = 1   # hidden 0 -> 2, 1 -> 3; hidden 3 (no input) -> 0
    k2 = np.zeros((4, 2)); k2[2, 0] = 1                     # only hidden 2 reaches an output (output 0)
    w = wiring(_mlp_mask(k0, k1, k2))
    # the one complete path: input 0 -> hidden 0 -> hidden 2 -> output 0
    assert (w["inputs_wired"], w["outputs_wired"], w["hidden_on_path"]) == (1, 1, 2)
    assert w["kept_weights_kernel1"] == 3


def test_a_collapsed_output_layer_disconnects_every_input():
    w = wiring(_mlp_mask(np.ones((3, 4)), np.ones((4, 4)), np.zeros((4, 1))))
    assert (w["inputs_wired"], w["outputs_wired"], w["hidden_on_path"]) == (0, 0, 0)


def test_unchained_kernels_give_counts_only():
    w = wiring(_mlp_mask(np.ones((3, 4)), np.ones((5, 2))))
    assert w["kept_weights_kernel1"] == 10 and np.isnan(w["inputs_wired"]) and np.isnan(w["hidden_on_path"])


def test_cnn_channels_and_the_flattened_dense_layer(digits):
    dense = masks.dense_mask(digits.init_params(jax.random.key(0)))
    w = wiring(dense)
    assert (w["inputs_wired"], w["outputs_wired"], w["hidden_on_path"]) == (1, 10, 8 + 16)
    # cut every weight the dense layer reads from channel 5 of the second convolution (channel last after flatten)
    kernel = np.asarray(dense["params"]["Dense_0"]["kernel"]).copy()
    kernel.reshape(-1, 16, 10)[:, 5, :] = False
    cut = jax.tree_util.tree_map(np.asarray, dense)
    cut["params"]["Dense_0"]["kernel"] = kernel
    assert wiring(cut)["hidden_on_path"] == 8 + 15


def test_imp_rows_carry_the_wiring_of_their_round(cartpole, tmp_path):
    from lottery_kit import run_imp
    from lottery_kit.trainers import ESTrainer

    trainer = ESTrainer("SNES", popsize=4, generations=2, eval_every=1, progress=False)
    rows = run_imp(cartpole, trainer, "final-ticket", seeds=[0, 1], rounds=3, keep_ratio=0.2, out_dir=tmp_path,
                   progress=False)
    stored = stored_wiring(tmp_path).set_index(["seed", "round"])
    for column in ("kept_weights_kernel0", "kept_weights_kernel2", "inputs_wired", "outputs_wired",
                   "hidden_on_path"):
        np.testing.assert_array_equal(rows.set_index(["seed", "round"])[column].sort_index(),
                                      stored[column].sort_index())
    dense = rows[rows["round"] == 1].iloc[0]
    assert (dense["inputs_wired"], dense["outputs_wired"], dense["hidden_on_path"]) == (4, 2, 128)
    kernels = rows.filter(like="kept_weights_kernel").sum(axis=1)
    np.testing.assert_array_equal(kernels, rows["kept_weights"])
