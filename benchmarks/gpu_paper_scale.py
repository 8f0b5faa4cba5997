"""The paper-scale GPU figures: F-MNIST with SNES at population 128 and batch 1024, measured phase by phase.

Phases (argument 1, any of them comma-separated): ``gen`` (a paper-scale generation as parts, as one jit and inside
the round's scan, with and without barriers between the parts), ``precision`` (population forward per precision:
speed, and test accuracy after a fixed number of generations), ``memory`` (a 5-seed paper-scale round with JAX
capped to 11 GB, with and without chunking), ``profile`` (a trace and an HLO dump of the unbarriered generation),
``round`` (a dense paper-scale F-MNIST round for 5 vmapped seeds, shortened to ``$ROUND_BUDGET_S``; ``$SEEDS``,
``$GENERATIONS``).
Appends JSON lines to ``$OUT/gpu.jsonl``; ``SMALL=1`` shrinks everything for a CPU dry run, ``POP``/``BATCH`` set the
population and batch, ``PRECISIONS`` the precisions compared. Needs Fashion-MNIST
findable (``LOTTERY_KIT_DATA``). Usage: ``python benchmarks/gpu_paper_scale.py gen,precision,memory``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import lottery_kit as lk
from lottery_kit import bench, masks
from lottery_kit.networks import VisionCNN
from lottery_kit.population import apply_shared, device_memory_bytes

SMALL = os.environ.get("SMALL") == "1"
OUT = os.environ.get("OUT", ".")
POP = int(os.environ.get("POP", 16 if SMALL else 128))
BATCH = int(os.environ.get("BATCH", 64 if SMALL else 1024))


def emit(record: dict) -> None:
    record |= {"device": jax.devices()[0].device_kind, "jax": jax.__version__}
    line = json.dumps(record, default=float)
    print(line, flush=True)
    with open(os.path.join(OUT, "gpu.jsonl"), "a") as fh:
        fh.write(line + "\n")


def _generation_setup(barriers: bool, seeds: int = 1, precision: str = "float32"):
    task = lk.make_task("fmnist", batch_size=BATCH, precision=precision)
    trainer = lk.ESTrainer("SNES", popsize=POP, generations=10, eval_every=10, progress=False)
    keys, _, x0, source, unravel, _ = bench.dense_round(task, trainer, seeds)
    spec = trainer.strategy_for(task, x0.shape[1])
    gen = trainer.generation(task, spec, unravel)
    gen = type(gen)(gen.task, gen.spec, gen.unravel, gen.shrink, barriers)
    states = jax.vmap(lambda k, x: spec.es.init(k, x, spec.params))(keys, x0)
    return task, gen, keys, states, source


def phase_gen():
    """The paper-scale generation as one jit and inside a scan, with and without barriers between its parts (the
    barriered scan against the sum of its parts is ``lottery-kit bench``'s generation_vs_parts)."""
    for barriers in (False, True):
        task, gen, keys, states, source = _generation_setup(barriers)
        one = jax.tree_util.tree_map(lambda a: a[0], states)
        single = jax.jit(lambda s, k, src, data: gen((s, None), k, src, data)[0][0])
        t_single, c_single = bench.timed(single, one, keys[0], source[0], task.data, reps=20)
        scan = jax.jit(lambda s, k, src, data: jax.lax.scan(lambda c, kk: gen(c, kk, src, data), (s, None),
                                                            jax.random.split(k, 20))[0][0])
        t_scan, _ = bench.timed(scan, one, keys[0], source[0], task.data, reps=3)
        emit({"phase": "gen", "barriers": barriers, "one_jit_seconds": t_single, "one_jit_compile_seconds": c_single,
              "in_scan_seconds": t_scan / 20})


def phase_precision(generations: int = 20 if SMALL else int(os.environ.get("PRECISION_GENERATIONS", "300"))):
    """Population forward per precision, and test accuracy of a dense SNES run of fixed length."""
    net = VisionCNN()
    params = jax.vmap(lambda k: net.init(k, jnp.zeros((1, 28, 28, 1))))(jax.random.split(jax.random.key(0), POP))
    x = jax.random.normal(jax.random.key(1), (BATCH, 28, 28, 1))
    with jax.default_matmul_precision("highest"):
        ref = jax.jit(lambda p, x: jax.vmap(net.apply, in_axes=(0, None))(p, x))(params, x)
    for precision in os.environ.get("PRECISIONS", "float32,tf32,bf16").split(","):
        fwd = jax.jit(lambda p, x, pr=precision: apply_shared(net, p, x, "vmap", None, pr))
        t, _ = bench.timed(fwd, params, x, reps=20)
        err = float(jnp.abs(fwd(params, x) - ref).max())
        # the vmapped population on every device, so that only the precision differs (the CPU kernel is float32 only)
        task = lk.make_task("fmnist", batch_size=BATCH, precision=precision, population_backend="vmap")
        trainer = lk.ESTrainer("SNES", popsize=POP, generations=generations, eval_every=generations // 4,
                               progress=False, mean_decay=1e-4)
        keys = jax.random.split(jax.random.key(7), 2)
        init = task.init_params_batch(keys)
        start = time.perf_counter()
        _, metrics = trainer(task, init, jax.vmap(masks.dense_mask)(init), keys, init)
        jax.block_until_ready(metrics)
        emit({"phase": "precision", "precision": precision, "forward_seconds": t, "max_abs_logprob_error": err,
              "generations": generations, "seeds": 2, "round_seconds": time.perf_counter() - start,
              "test_accuracy": np.asarray(metrics["final_perf"]).tolist(),
              "best_test_accuracy": np.asarray(metrics["best_perf"]).tolist()})


def phase_memory_child(chunk: str):
    """(child) A 5-seed paper-scale round of a few generations under the memory cap set by the parent."""
    task = lk.make_task("fmnist", batch_size=BATCH, population_chunk=None if chunk == "none" else chunk)
    trainer = lk.ESTrainer("SNES", popsize=POP, generations=10, eval_every=5, progress=False)
    keys = jax.random.split(jax.random.key(0), 5)
    init = task.init_params_batch(keys)
    _, metrics = trainer(task, init, jax.vmap(masks.dense_mask)(init), keys, init)
    jax.block_until_ready(metrics)
    stats = jax.devices()[0].memory_stats() or {}
    print(json.dumps({"peak_bytes_in_use": stats.get("peak_bytes_in_use"), "bytes_limit": stats.get("bytes_limit"),
                      "final_perf": np.asarray(metrics["final_perf"]).tolist()}))


def device_total_bytes() -> int:
    """The card's whole memory (what ``XLA_PYTHON_CLIENT_MEM_FRACTION`` is a share of): nvidia-smi's figure, else the
    allocator's limit over the share it was given (JAX's default 0.75)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.split()[0]) * 2**20
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return int((device_memory_bytes() or 0) / float(os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.75")))


def phase_memory():
    """A 5-seed paper-scale round with JAX capped at exactly 11 GB (the paper's 2080Ti), chunked ("auto") or not."""
    total = device_total_bytes()
    fraction = min(0.99, 11e9 / total) if total else 0.5
    for chunk in ("auto", "none"):
        env = os.environ | {"XLA_PYTHON_CLIENT_MEM_FRACTION": f"{fraction:.4f}", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
        start = time.perf_counter()
        run = subprocess.run([sys.executable, __file__, "memory_child", chunk], env=env, capture_output=True, text=True,
                             timeout=240)
        last = run.stdout.strip().splitlines()[-1:] if run.returncode == 0 else []
        emit({"phase": "memory", "chunk": chunk, "memory_fraction": fraction, "cap_bytes": fraction * total,
              "ok": run.returncode == 0, "seconds": time.perf_counter() - start,
              **(json.loads(last[0]) if last else {"error": run.stderr[-600:]})})


def phase_profile():
    """An HLO dump and a profiler trace of the unbarriered paper-scale generation (for reading offline)."""
    task, gen, keys, states, source = _generation_setup(barriers=False)
    one = jax.tree_util.tree_map(lambda a: a[0], states)
    single = jax.jit(lambda s, k, src, data: gen((s, None), k, src, data)[0][0])
    text = single.lower(one, keys[0], source[0], task.data).compile().as_text()
    with open(os.path.join(OUT, "generation_unbarriered.hlo.txt"), "w") as fh:
        fh.write(text)
    jax.block_until_ready(single(one, keys[0], source[0], task.data))
    trace_dir = os.path.join("/tmp", "trace")
    with jax.profiler.trace(trace_dir):
        for i in range(3):
            jax.block_until_ready(single(one, keys[i % len(keys)], source[0], task.data))
    subprocess.run(["tar", "czf", os.path.join(OUT, "trace.tgz"), "-C", "/tmp", "trace"], check=False)
    emit({"phase": "profile", "hlo_chars": len(text)})


def phase_round():
    """The paper's dense F-MNIST round for ``$SEEDS`` (5) vmapped seeds (4000 generations, evaluated every 100), or
    ``$GENERATIONS``, or as many generations as fit ``$ROUND_BUDGET_S`` at the measured speed."""
    budget = float(os.environ.get("ROUND_BUDGET_S", "240"))
    seeds = int(os.environ.get("SEEDS", "5"))
    if "GENERATIONS" in os.environ:
        gens = int(os.environ["GENERATIONS"])
    elif SMALL:
        gens = 40
    else:
        probe = bench.generation_vs_parts(POP, BATCH, generations=10, seeds=seeds, reps=1)
        per_gen = probe["generation_seconds"] * seeds
        gens = int(min(4000, max(100, (budget - 40) / per_gen)) // 100 * 100)
    task = lk.make_task("fmnist", batch_size=BATCH)
    trainer = lk.ESTrainer("SNES", popsize=POP, generations=gens, eval_every=min(100, gens // 2), progress=False,
                           mean_decay=1e-4)
    keys = jnp.stack([jax.random.key(s) for s in range(seeds)])
    init = task.init_params_batch(keys)
    start = time.perf_counter()
    _, metrics = trainer(task, init, jax.vmap(masks.dense_mask)(init), keys, init)
    jax.block_until_ready(metrics)
    emit({"phase": "round", "seeds": seeds, "popsize": POP, "batch": BATCH, "generations": gens,
          "wall_seconds": time.perf_counter() - start, "test_accuracy": np.asarray(metrics["final_perf"]).tolist(),
          "best_test_accuracy": np.asarray(metrics["best_perf"]).tolist(),
          "val_curve_seed0": np.asarray(metrics["val_curve"][0]).tolist()})


def phase_paper():
    """``lottery-kit bench``'s paper_run_minutes per precision, one seed and five vmapped seeds."""
    for precision in os.environ.get("PRECISIONS", "float32,tf32").split(","):
        for seeds in (1, 5):
            r = bench.paper_run_minutes(seeds, generations=2 if SMALL else 10, reps=1 if SMALL else 2,
                                        precision=precision)
            emit({"phase": "paper", **r})


PHASES = {"paper": phase_paper, "gen": phase_gen, "precision": phase_precision, "memory": phase_memory, "profile": phase_profile,
          "round": phase_round}

if __name__ == "__main__":
    if sys.argv[1] == "memory_child":
        phase_memory_child(sys.argv[2])
        sys.exit(0)
    for name in sys.argv[1].split(","):
        start = time.perf_counter()
        try:
            PHASES[name]()
        except Exception as err:  # keep going: the other phases still tell something
            emit({"phase": name, "error": repr(err)[-800:]})
        print(f"# phase {name}: {time.perf_counter() - start:.1f} s", flush=True)
