"""Small IMP runs whose numbers must not depend on the devices they spread over (``tests/test_sharding.py`` runs
them on one device in a one-device process, and over 2 and 3 devices in a three-device process):
``python tests/sharded_runs.py OUT_DIR [N ...]`` runs them over the first N devices of this process, for each N
(``run_imp(..., devices=N)``; default: every device). Writes, under OUT_DIR/N, every run's results and round
artifacts, the scores of every round's final means (``scores.npy``, as the analyses score many networks), and
``devices.json``: the devices JAX reports and the sizes of the meshes each run's kernels were spread over."""

import json
import sys
from pathlib import Path

import jax
import numpy as np

import lottery_kit as lk
from lottery_kit.analysis import score_many
from lottery_kit.sharding import spread


SPREAD: set[int] = set()   # the device counts of the meshes a run's kernels were spread over


def noting_meshes(shard_map):
    def noted(f, *, mesh, **kwargs):
        SPREAD.add(mesh.size)
        return shard_map(f, mesh=mesh, **kwargs)

    return noted


jax.shard_map = noting_meshes(jax.shard_map)


def runs():
    """(name, task, trainer, baseline, seeds): ES on control tasks (CartPole's members in chunks of 3, whole chunks
    over the devices; Pendulum's 8 rollouts a member in one pass, split between them), ES on the 8x8 digits task
    (the CPU kernel's chunks of 16 members), and masked Adam; seed and member counts that divide no device count."""
    es = dict(popsize=10, generations=2, eval_every=1, progress=False)
    return [
        ("es-control", lk.make_task("CartPole-v1", n_rollouts=2, n_eval_episodes=3, max_steps=40, population_chunk=3),
         lk.ESTrainer("SNES", **es), "sig2noise", [0, 1]),
        ("es-pendulum", lk.make_task("Pendulum-v1", n_eval_episodes=3, max_steps=30), lk.ESTrainer("SNES", **es),
         "final-ticket", [0, 1]),
        ("es-vision", lk.make_task("digits", batch_size=32), lk.ESTrainer("SNES", **es | dict(popsize=34)),
         "sig2noise", [0, 1]),
        ("adam", lk.make_task("digits"), lk.AdamTrainer(epochs=1, batch_size=256, progress=False), "final-ticket",
         [0, 1, 2]),
    ]


def main(out: Path, counts: list[int]) -> None:
    made = runs()
    for n in counts:
        meshes = {name: over_devices(n, out / str(n) / name, task, trainer, baseline, seeds)
                  for name, task, trainer, baseline, seeds in made}
        (out / str(n) / "devices.json").write_text(json.dumps({"jax": len(jax.devices()), "spread": meshes}))


def over_devices(n: int, out: Path, task, trainer, baseline: str, seeds: list[int]) -> list[int]:
    """One run over the first ``n`` devices; returns the sizes of the meshes its kernels were spread over."""
    SPREAD.clear()
    lk.run_imp(task, trainer, baseline, seeds=seeds, rounds=2, keep_ratio=0.5, out_dir=out, progress=False,
               devices=n)
    # the analyses' scoring of many networks: every round's final means, on the device a trainer returns them
    means = [lk.load_round(out, s, r)["final_mean"] for s in seeds for r in (1, 2)]
    stacked = jax.device_put(jax.tree_util.tree_map(lambda *a: np.stack(a), *means), jax.devices()[0])
    with spread(n):   # as a process of n devices scores them
        np.save(out / "scores.npy", np.asarray(score_many(task, stacked)))
    return sorted(SPREAD)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(n) for n in sys.argv[2:]] or [len(jax.devices())])
