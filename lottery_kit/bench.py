"""``lottery-kit bench``: population-kernel and ES benchmarks, with the machine's matmul peak as yardstick.

Every figure is the median of several timed repetitions after a warm-up call; compile time (first
call minus a steady call) is reported separately. Targets: ``cnn_pop_eval``
peak_fraction >= 0.30 on CPU; ES generation speedup over vmapped flax >= 5; seed vmap speedup >= 1 (at the control
task's default of eight rollouts a member); the numerical guard costs at most 2 % of a round; with the masked
search, later IMP rounds of a short run take at most 0.35 of the first's (no recompile); Pendulum-v1's rollouts at
the paper's budget (population 100, 8 rollouts a member) reach at least 0.25 of the matmul peak, and run at least
1.6x faster on two devices (two cores) than on one, with the same numbers.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import masks
from .trainers.es import expand
from .networks import VisionCNN
from .population import apply_shared
from .strategies import make_strategy

#: 2 FLOPs per multiply-add: conv1 28*28*8*25, conv2 14*14*16*200, dense 784*10, per image and member.
CNN_FLOPS_PER_IMAGE = 2 * (28 * 28 * 8 * 25 + 14 * 14 * 16 * 200 + 784 * 10)


def timed(fn, *args, reps: int = 5):
    """(median seconds, compile seconds) of a jitted call, after a warm-up call."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return median, max(0.0, first - median)


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    t, _ = timed(jax.jit(jnp.matmul), a, b, reps=reps)
    return 2 * n**3 / t / 1e9


def _pop_params(module, shape, pop):
    keys = jax.random.split(jax.random.key(0), pop)
    return jax.vmap(lambda k: module.init(k, jnp.zeros((1,) + shape)))(keys)


def cnn_pop_eval(peak: float, popsize: int = 128, batch: int = 256, reps: int = 5, backend: str | None = None):
    net = VisionCNN()
    params = _pop_params(net, (28, 28, 1), popsize)
    x = jax.random.normal(jax.random.key(2), (batch, 28, 28, 1))
    t, compile_s = timed(jax.jit(lambda p, x: apply_shared(net, p, x, backend)), params, x, reps=reps)
    gflops = CNN_FLOPS_PER_IMAGE * batch * popsize / t / 1e9
    return {"popsize": popsize, "batch": batch, "seconds": t, "compile_seconds": compile_s, "gflops": gflops,
            "peak_fraction": gflops / peak}


def _generation_fn(task, spec, unravel, source):
    """One jitted ES generation: ask, evaluate on a training batch, tell."""
    es, params = spec.es, spec.params

    def gen(state, key, data):
        k1, k2, k3 = jax.random.split(key, 3)
        pop, state = es.ask(k1, state, params)
        full = jax.vmap(unravel)(expand(pop, source))
        fitness, _ = task.fitness(full, k2, data, None)
        state, _ = es.tell(k3, pop, -fitness, state, params)
        return state

    return jax.jit(gen)


def es_generation(popsize: int = 64, batch: int = 256, reps: int = 5):
    tasks = {b: _vision_task(batch_size=batch, population_backend=b) for b in ("fast", "vmap")}
    name = tasks["fast"].name
    params = tasks["fast"].init_params(jax.random.key(0))
    flat, unravel = masks.ravel(params)
    source = jnp.arange(flat.size, dtype=jnp.int32)
    spec = make_strategy("Sep_CMA_ES", popsize, flat.size, name, "vision")
    state = spec.es.init(jax.random.key(1), flat, spec.params)
    out = {"task": name, "strategy": "Sep_CMA_ES", "popsize": popsize, "batch": batch}
    for backend, key in (("fast", "seconds_per_generation"), ("vmap", "reference_seconds_per_generation")):
        fn = _generation_fn(tasks[backend], spec, unravel, source)
        t, compile_s = timed(fn, state, jax.random.key(2), tasks[backend].data, reps=reps)
        out[key] = t
        out[key.replace("seconds_per_generation", "compile_seconds")] = compile_s
    out["speedup"] = out["reference_seconds_per_generation"] / out["seconds_per_generation"]
    return out


#: The paper's ES budget for control tasks: population and rollouts a member.
PAPER_CONTROL = {"popsize": 100, "n_rollouts": 8}


def control_rollout(peak: float, task_name: str = "CartPole-v1", popsize: int = PAPER_CONTROL["popsize"],
                    n_rollouts: int = PAPER_CONTROL["n_rollouts"], steps: int = 200, reps: int = 5):
    """Env steps/s of one population's training rollouts (the fitness call), and the policy's share of ``peak``.

    Every member runs ``n_rollouts`` episodes for ``steps`` scan steps (finished episodes are masked, not skipped,
    so all count); FLOPs are 2 per kernel weight per step (the MLP's multiply-adds)."""
    from .tasks import make_task

    task = make_task(task_name, n_rollouts=n_rollouts, max_steps=steps)
    params = _pop_params(task.network, task.input_shape, popsize)
    flops_per_step = 2 * masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], params))
    fn = jax.jit(lambda p, k: task.fitness(p, k, None, None)[0])
    t, compile_s = timed(fn, params, jax.random.key(0), reps=reps)
    env_steps = popsize * n_rollouts * steps
    gflops = env_steps * flops_per_step / t / 1e9
    return {"task": task_name, "popsize": popsize, "n_rollouts": n_rollouts, "steps": steps, "seconds": t,
            "compile_seconds": compile_s, "env_steps_per_second": env_steps / t, "flops_per_step": flops_per_step,
            "gflops": gflops, "peak_fraction": gflops / peak}


def rollout_chunking(task_name: str, popsize: int, n_rollouts: int, steps: int = 50, reps: int = 3):
    """Seconds per rollout step of a population: members in cache-sized chunks ("auto") vs all at once."""
    from .tasks import make_task

    out = {"task": task_name, "popsize": popsize, "n_rollouts": n_rollouts, "steps": steps}
    for chunk, name in (("auto", "seconds_per_step"), (None, "whole_population_seconds_per_step")):
        task = make_task(task_name, n_rollouts=n_rollouts, max_steps=steps, population_chunk=chunk)
        params = _pop_params(task.network, task.input_shape, popsize)
        t, _ = timed(jax.jit(lambda p, k: task.fitness(p, k, None, None)[0]), params, jax.random.key(0), reps=reps)
        out[name] = t / steps
    out["speedup"] = out["whole_population_seconds_per_step"] / out["seconds_per_step"]
    return out


def paired_times(ways: dict, reps: int):
    """Time two ways of one computation ``reps`` times each, in alternating order after a warm-up repetition;
    return their times and the ratios first way / second way, repetition by repetition."""
    seconds = {name: [] for name in ways}
    for rep in range(reps + 1):   # the first repetition compiles and warms up
        for name in (list(ways) if rep % 2 else list(ways)[::-1]):
            start = time.perf_counter()
            jax.block_until_ready(ways[name]())
            if rep:
                seconds[name].append(time.perf_counter() - start)
    first, second = seconds.values()
    return seconds, [a / b for a, b in zip(first, second)]


def guard_cost(popsize: int = 32, generations: int = 40, eval_every: int = 10, reps: int = 5) -> dict:
    """Time of a dense Pendulum-v1 ES round with the numerical guard (:mod:`lottery_kit.guard`) over the same round
    without it, in paired repetitions (median ratio). Cheap generations make this the guard's worst case; target:
    ratio <= 1.02."""
    from .tasks import make_task
    from .trainers import ESTrainer

    task = make_task("Pendulum-v1")
    ways = {}
    for guarded in (True, False):
        trainer = ESTrainer("SNES", popsize=popsize, generations=generations, eval_every=eval_every,
                            numerical_guard=guarded, progress=False)
        keys, run, x0, source, _, params = dense_round(task, trainer, 1)
        ways["guarded" if guarded else "unguarded"] = (lambda p=run, k=keys, x=x0, s=source, q=params:
                                                       p(k, x, s, (task.data, jnp.int32(0), q)))
    seconds, ratios = paired_times(ways, reps)
    return {"task": task.name, "popsize": popsize, "generations": generations, "eval_every": eval_every,
            "guarded_seconds": statistics.median(seconds["guarded"]),
            "unguarded_seconds": statistics.median(seconds["unguarded"]),
            "ratio": statistics.median(ratios), "ratios": ratios}


def imp_round_seconds(rounds: int = 3, generations: int = 10, popsize: int = 16) -> dict:
    """Wall time of each round of a short CartPole-v1 IMP run (few generations, so compiling dominates), for the
    masked search (the paper's rules: one executable per run) and the gathered search (``es_rules="evosax-0.3"``:
    one compile per round), in one process. A round's time runs from its training call to the next one's (it
    includes pruning, diagnostics and rows). Target: rounds 2.. of the masked search take <= 0.35 of round 1's."""
    from .imp import run_imp
    from .tasks import make_task
    from .trainers import ESTrainer
    from .trainers.protocol import TrainerWrapper

    out = {}
    for rules in ("paper", "evosax-0.3"):
        task = make_task("CartPole-v1", n_rollouts=2, n_eval_episodes=4)
        trainer = ESTrainer("SNES", popsize=popsize, generations=generations, eval_every=generations,
                            es_rules=rules, progress=False)
        starts = []

        class Timed(TrainerWrapper):   # the trainer, with the start of every round noted
            def __call__(self, *args, **kwargs):
                starts.append(time.perf_counter())
                return super().__call__(*args, **kwargs)

        run_imp(task, Timed(trainer), "sig2noise", seeds=[0], rounds=rounds, keep_ratio=0.5, progress=False)
        starts.append(time.perf_counter())
        seconds = [b - a for a, b in zip(starts, starts[1:])]
        out[rules] = {"round_seconds": seconds, "later_over_first": max(seconds[1:]) / seconds[0]}
    return {"task": "CartPole-v1", "rounds": rounds, "generations": generations, "popsize": popsize, **out,
            "later_over_first": out["paper"]["later_over_first"]}


def seed_vmap_speedup(seeds: int = 4, popsize: int = 100, generations: int = 20, eval_every: int = 10,
                      n_rollouts: int = 8, reps: int = 3):
    """Time of ``seeds`` ES rounds one after another over the time of the same rounds vmapped (CartPole).

    ``n_rollouts`` a member: 8 is the control task's default and the paper's. Each repetition times both ways, in
    alternating order, and the speedup is the median of the repetitions' ratios, so that drift in the machine's
    speed hits both ways alike (``ratios`` lists them all).
    """
    from .trainers import ESTrainer
    from .tasks import make_task

    task = make_task("CartPole-v1", n_rollouts=n_rollouts)
    trainer = ESTrainer("SNES", popsize=popsize, generations=generations, eval_every=eval_every, progress=False)
    params = task.init_params(jax.random.key(0))
    flat, unravel = masks.ravel(params)
    spec = make_strategy("SNES", popsize, flat.size, task.name, task.family)
    run = trainer.build_run(task, spec, unravel, generations // eval_every)
    idx = jnp.arange(flat.size, dtype=jnp.int32)  # dense: every position comes from the kept vector
    keys = jax.random.split(jax.random.key(1), seeds)
    x0 = jnp.stack([flat] * seeds)
    single = jax.jit(run)
    batched = jax.jit(jax.vmap(run, in_axes=(0, 0, None, None)))
    token = jnp.int32(0)
    seconds, ratios = paired_times({"sequential": lambda: [single(keys[i], x0[i], idx, (None, token, spec.params))
                                                          for i in range(seeds)],
                                    "vmapped": lambda: batched(keys, x0, idx, (None, token, spec.params))}, reps)
    return {"task": "CartPole-v1", "seeds": seeds, "popsize": popsize, "n_rollouts": n_rollouts,
            "generations": generations, "eval_every": eval_every,
            "sequential_seconds": statistics.median(seconds["sequential"]),
            "vmapped_seconds": statistics.median(seconds["vmapped"]),
            "speedup": statistics.median(ratios), "ratios": ratios}


def _vision_task(**options):
    """Fashion-MNIST where it is installed, else scikit-learn's digits (the benchmark records which)."""
    from .tasks import make_task

    try:
        return make_task("fmnist", **options)
    except FileNotFoundError:
        return make_task("digits", **options)


def adam_epoch(batch: int = 128, reps: int = 3, steps: int | None = None):
    """Seconds per masked-Adam epoch of the paper's CNN (one seed; validation scoring included). ``steps``: time
    that many steps of an epoch instead of all, scaled to the whole epoch (the quick run's)."""
    from .trainers import AdamTrainer

    task = _vision_task()
    n_train = int(task.data["x_train"].shape[0])
    steps = min(steps or n_train // batch, n_train // batch)
    trainer = AdamTrainer(epochs=1, batch_size=batch, progress=False)
    run = jax.jit(trainer.build_run(task, steps))
    params = task.init_params(jax.random.key(0))
    t, compile_s = timed(run, jax.random.key(1), params, masks.dense_mask(params), (task.data, jnp.int32(0)), reps=reps)
    per_epoch = t * (n_train // batch) / steps
    return {"task": task.name, "batch": batch, "steps": steps, "seconds_per_epoch": per_epoch,
            "compile_seconds": compile_s, "images_per_second": steps * batch / t}


def ppo_steps(task_name: str = "Pendulum-v1", total_steps: int = 200_000, reps: int = 3):
    """Environment steps per second of masked PPO with the paper's Pendulum settings (one seed; updates included)."""
    from .tasks import make_task
    from .trainers import PPOTrainer

    task = make_task(task_name, hidden=(32, 32), activation="relu")
    trainer = PPOTrainer(total_steps=total_steps, progress=False)
    run = jax.jit(trainer.build_run(task))
    params = task.init_params(jax.random.key(0))
    t, compile_s = timed(run, jax.random.key(1), params, masks.dense_mask(params), jnp.int32(0), reps=reps)
    steps = trainer.n_evals * trainer.updates_per_eval * trainer.num_envs * trainer.num_steps
    return {"task": task_name, "env_steps": steps, "seconds": t, "compile_seconds": compile_s,
            "env_steps_per_second": steps / t}


def dense_round(task, trainer, seeds: int):
    """Keys for ``seeds`` seeds and the trainer's jitted round program with its inputs for the dense round:
    ``(keys, run, x0, source, unravel, params)``."""
    keys = jax.random.split(jax.random.key(0), seeds)
    init = task.init_params_batch(keys)
    return (keys, *trainer.round_program(task, init, jax.vmap(masks.dense_mask)(init)))


def generation_vs_parts(popsize: int = 64, batch: int = 256, generations: int = 10, seeds: int = 1,
                        reps: int = 3, strategy: str = "SNES", precision: str = "float32") -> dict:
    """A generation inside the round's scan against the sum of its parts, each jitted on its own.

    The parts are those of :class:`lottery_kit.trainers.es.Generation`: ask, expand (kept vectors to parameter
    trees), fitness (batch sampling and the population's forward pass) and tell. Target: ratio <= 1.25.
    """
    from .trainers import ESTrainer

    task = _vision_task(batch_size=batch, precision=precision)
    trainer = ESTrainer(strategy, popsize=popsize, generations=generations, eval_every=generations, progress=False)
    keys, _, x0, source, unravel, _ = dense_round(task, trainer, seeds)
    spec = trainer.strategy_for(task, x0.shape[1])
    gen = trainer.generation(task, spec, unravel)
    states = jax.vmap(lambda k, x: spec.es.init(k, x, spec.params))(keys, x0)
    fs = task.init_fit_state()

    def scan_one(state, key, src, data):
        return jax.lax.scan(lambda c, k: gen(c, k, src, data), (state, fs), jax.random.split(key, generations))[0][0]

    fused = jax.jit(jax.vmap(scan_one, in_axes=(0, 0, 0, None)))
    t_fused, compile_s = timed(fused, states, keys, source, task.data, reps=reps)
    one = jax.tree_util.tree_map(lambda a: a[0], states)
    ask = jax.jit(gen.ask)
    pop, _ = ask(keys[0], one)
    expand_fn = jax.jit(gen.expand)
    tree = expand_fn(pop, source[0])
    fitness = jax.jit(lambda tree, k, data: gen.fitness(tree, k, data, fs)[0])
    fit = fitness(tree, keys[0], task.data)
    tell = jax.jit(gen.tell)
    parts = {"ask": timed(ask, keys[0], one, reps=reps)[0], "expand": timed(expand_fn, pop, source[0], reps=reps)[0],
             "fitness": timed(fitness, tree, keys[0], task.data, reps=reps)[0],
             "tell": timed(tell, keys[0], pop, fit, one, reps=reps)[0]}
    per_generation = t_fused / generations / seeds
    return {"task": task.name, "strategy": strategy, "popsize": popsize, "batch": batch, "seeds": seeds,
            "precision": precision, "generation_seconds": per_generation, "parts_seconds": parts, "sum_of_parts_seconds": sum(parts.values()),
            "compile_seconds": compile_s, "ratio": per_generation / sum(parts.values())}


def device_scaling(kernel: str = "control", popsize: int | None = None, reps: int = 5, **sizes) -> dict:
    """Speed-up and parallel efficiency of a population's fitness call against the devices it spreads over
    (:mod:`lottery_kit.sharding`): 1, 2, ... up to this process's devices, timed in alternating order after a
    warm-up (median of ``reps``), each against one device. ``kernel``: "control" (Pendulum-v1, the paper's budget:
    population 100 x 8 rollouts x 200 steps, the 2x64 tanh policy; ``sizes``: n_rollouts, steps) or "vision" (the
    paper's CNN on Fashion-MNIST, else digits: population 128; ``sizes``: batch). ``identical``: whether every count
    gave the one-device fitness bit for bit."""
    from .sharding import available, spread
    from .tasks import make_task

    if kernel == "control":
        popsize = popsize or PAPER_CONTROL["popsize"]
        task = make_task("Pendulum-v1", n_rollouts=sizes.get("n_rollouts", PAPER_CONTROL["n_rollouts"]),
                         max_steps=sizes.get("steps", 200))
    else:
        popsize = popsize or 128
        task = _vision_task(batch_size=sizes.get("batch", 256))
    params = _pop_params(task.network, task.input_shape, popsize)
    counts = list(range(1, available() + 1))
    ways, fitness = {}, {}
    for n in counts:
        with spread(n):   # traced (and so spread) at the first call, inside the block
            fn = jax.jit(lambda p, k: task.fitness(p, k, task.data, None)[0])
            fitness[n] = np.asarray(fn(params, jax.random.key(0)))
        ways[n] = lambda f=fn: f(params, jax.random.key(0))
    seconds = {n: [] for n in counts}
    for rep in range(reps):
        for n in (counts if rep % 2 else counts[::-1]):
            start = time.perf_counter()
            jax.block_until_ready(ways[n]())
            seconds[n].append(time.perf_counter() - start)
    median = {n: statistics.median(t) for n, t in seconds.items()}
    return {"kernel": kernel, "task": task.name, "popsize": popsize, **sizes, "devices": counts,
            "seconds": [median[n] for n in counts], "speedup": [median[1] / median[n] for n in counts],
            "efficiency": [median[1] / median[n] / n for n in counts],
            "identical": all(np.array_equal(fitness[1], fitness[n]) for n in counts)}


#: The paper's MNIST-family IMP run: rounds x generations, evaluated every 100 generations, pop 128, batch 1024.
PAPER_RUN = dict(rounds=20, generations=4000, eval_every=100, popsize=128, batch=1024)


def paper_run_minutes(seeds: int = 1, generations: int = 10, reps: int = 2, strategy: str = "SNES",
                      precision: str = "float32") -> dict:
    """Minutes of the paper's MNIST-family IMP run for ``seeds`` vmapped seeds, from measured parts: a round's
    compilation, a generation inside the scan (per generation, all seeds) and a validation score, extrapolated
    to 20 rounds of 4000 generations with 40 validation scores each."""
    from .trainers import ESTrainer

    p = PAPER_RUN
    task = _vision_task(batch_size=p["batch"], precision=precision)
    trainer = ESTrainer(strategy, popsize=p["popsize"], generations=p["generations"], eval_every=p["eval_every"],
                        progress=False)
    keys, run, x0, source, unravel, params = dense_round(task, trainer, seeds)
    start = time.perf_counter()
    run.lower(keys, x0, source, (task.data, jnp.int32(0), params)).compile()
    compile_s = time.perf_counter() - start
    gen = generation_vs_parts(p["popsize"], p["batch"], generations, seeds, reps, strategy, precision)
    params = jax.vmap(unravel)(x0)
    val = jax.jit(jax.vmap(lambda q: task.evaluate(q, None, task.data, None, "val")))
    t_val, _ = timed(val, params, reps=reps)
    n_evals = p["generations"] // p["eval_every"]
    round_s = compile_s + p["generations"] * gen["generation_seconds"] * seeds + n_evals * t_val
    return {"seeds": seeds, "precision": precision, "minutes": p["rounds"] * round_s / 60, "round_seconds": round_s,
            "round_compile_seconds": compile_s, "generation_seconds_all_seeds": gen["generation_seconds"] * seeds,
            "validation_seconds": t_val, "generation_vs_parts": gen["ratio"], **p}


#: Targets by device kind (``jax.default_backend()``); each maps a name to (figure, threshold, "min" or "max").
TARGETS = {
    "cpu": {"cnn_peak_fraction>=0.30": (("cnn_pop_eval", "peak_fraction"), 0.30, "min"),
            "es_generation_speedup>=5": (("es_generation", "speedup"), 5.0, "min"),
            "seed_vmap_speedup>=1": (("seed_vmap_speedup",), 1.0, "min"),
            "generation_vs_parts<=1.25": (("generation_vs_parts", "ratio"), 1.25, "max"),
            "guard_cost<=1.02": (("guard_cost", "ratio"), 1.02, "max"),
            "pendulum_rollout_peak_fraction>=0.25": (("control_rollout", 1, "peak_fraction"), 0.25, "min"),
            "imp_later_rounds<=0.35": (("imp_round_seconds", "later_over_first"), 0.35, "max"),
            "pendulum_two_devices_speedup>=1.6": (("device_scaling", 0, "speedup", 1), 1.6, "min")},
    "gpu": {"generation_vs_parts<=1.25": (("generation_vs_parts", "ratio"), 1.25, "max"),
            "paper_run_minutes(1 seed)<=20": (("paper_run", "1", "minutes"), 20.0, "max"),
            "paper_run_minutes(5 seeds)<=60": (("paper_run", "5", "minutes"), 60.0, "max")},
}


def targets_met(result: dict, backend: str) -> dict:
    """Each target of the device at hand: met (True), missed (False), or not measured in this run (None)."""
    out = {}
    for name, (path, threshold, kind) in TARGETS.get(backend, {}).items():
        value = result
        for key in path:
            value = (value.get(key) if isinstance(value, dict) else
                     value[key] if isinstance(value, list) and isinstance(key, int) and key < len(value) else None)
        out[name] = None if value is None else (value >= threshold if kind == "min" else value <= threshold)
    return out


#: Toy sizes for ``--smoke`` (the test suite's run): every figure computed, none of them meaningful.
SMOKE = {"cnn_pop_eval": dict(popsize=8, batch=16), "es_generation": dict(popsize=8, batch=16),
         "control_rollout": dict(popsize=8, n_rollouts=2, steps=10), "adam_epoch": dict(steps=4),
         "ppo_steps": dict(total_steps=5_120), "seed_vmap_speedup": dict(seeds=2, popsize=8, n_rollouts=8),
         "generation_vs_parts": dict(popsize=8, batch=16, generations=2), "guard_cost": dict(popsize=8),
         "imp_round_seconds": dict(rounds=2, generations=2, popsize=8),
         "device_scaling_control": dict(popsize=8, n_rollouts=2, steps=10),
         "device_scaling_vision": dict(popsize=8, batch=16)}


def run_suite(quick: bool = False, smoke: bool = False) -> dict:
    """Every benchmark. ``quick``: one timed call after each warm-up, at the real sizes; ``smoke``: also the toy
    sizes of :data:`SMOKE` (checks that the suite runs; its figures measure nothing)."""
    quick = quick or smoke
    size = lambda name, **real: {**real, **SMOKE[name]} if smoke else real  # noqa: E731  (arguments of a figure)
    reps = 1 if quick else 5
    on_cpu = jax.default_backend() == "cpu"
    peak = matmul_peak(n=256 if smoke else 2048, reps=reps * 2)
    result = {
        "device": f"{jax.devices()[0].device_kind} ({jax.default_backend()})",
        "host": platform.node(), "cpu_count": __import__("os").cpu_count(), "jax": jax.__version__,
        "devices": len(jax.devices()),
        "smoke": smoke, "matmul_peak_gflops": peak,
        "cnn_pop_eval": cnn_pop_eval(peak, reps=reps, **size("cnn_pop_eval")),
        "cnn_pop_eval_vmap_reference": cnn_pop_eval(peak, reps=max(1, reps // 2), backend="vmap",
                                                    **size("cnn_pop_eval")),
        "es_generation": es_generation(reps=reps, **size("es_generation")),
        # the paper's control budget (population 100, 8 rollouts a member), both tasks
        "control_rollout": [control_rollout(peak, name, reps=reps,
                                            **size("control_rollout", steps=50 if quick else 200))
                            for name in ("CartPole-v1", "Pendulum-v1")],
        "adam_epoch": adam_epoch(reps=1, **size("adam_epoch", steps=40)) if quick else adam_epoch(reps=3),
        "ppo_steps": ppo_steps(reps=1 if quick else 3, **size("ppo_steps", total_steps=50_000 if quick else 200_000)),
    }
    # the task's default (the paper's eight rollouts a member), and one rollout a member (full run only): the
    # memory-bound worst case, where vmapped seeds run exactly the chunks that seeds in turn run (parity)
    seed_runs = [seed_vmap_speedup(generations=2, eval_every=2, reps=1, **size("seed_vmap_speedup")) if quick else
                 seed_vmap_speedup(generations=20, eval_every=10, reps=5)]
    if not quick:
        seed_runs.append(seed_vmap_speedup(n_rollouts=1, generations=50, eval_every=25, reps=7))
    result["seed_vmap_speedup"] = seed_runs[0]["speedup"]
    result["seed_vmap"] = seed_runs
    if not quick:  # chunked rollouts (population.auto_chunk) against one pass over the whole population
        result["rollout_chunking"] = [rollout_chunking("CartPole-v1", 100, 1, steps=500),
                                      rollout_chunking("Breakout-MinAtar", 256, 8)]
    # on CPU at a small scale (a paper-scale generation takes seconds there); on accelerators at the paper's
    result["generation_vs_parts"] = (generation_vs_parts(reps=1 if quick else 2,
                                                         **size("generation_vs_parts", generations=4 if quick else 10))
                                     if on_cpu or smoke else
                                     generation_vs_parts(PAPER_RUN["popsize"], PAPER_RUN["batch"], reps=reps))
    if not (quick and on_cpu) and not smoke:  # the paper's run, one seed and five vmapped seeds (minutes on a CPU)
        result["paper_run"] = {str(n): paper_run_minutes(n, generations=2 if on_cpu or quick else 10,
                                                         reps=1 if on_cpu or quick else 3) for n in (1, 5)}
    result["guard_cost"] = (guard_cost(generations=10, eval_every=5, reps=1, **size("guard_cost")) if quick else
                            guard_cost(reps=7))
    # a lone run's speed-up over the devices of this process (a CPU's cores, or the GPUs), at the paper's sizes
    result["device_scaling"] = [device_scaling(kernel, reps=reps, **size(f"device_scaling_{kernel}"))
                                for kernel in ("control", "vision")]
    if not quick or smoke:   # a minute of compiling at the real size; the test suite checks one compile per run
        result["imp_round_seconds"] = imp_round_seconds(**size("imp_round_seconds"))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["targets_met"] = {name: None for name in TARGETS.get(jax.default_backend(), {})} if smoke else \
        targets_met(result, jax.default_backend())
    return result


def summary(r: dict) -> str:
    c, e = r["cnn_pop_eval"], r["es_generation"]
    lines = [
        f"device: {r['device']} x {r.get('devices', 1)}, {r['cpu_count']} CPUs, jax {r['jax']}",
        f"fp32 matmul peak:       {r['matmul_peak_gflops']:8.1f} GFLOP/s",
        f"CNN population eval:    {c['gflops']:8.1f} GFLOP/s = {c['peak_fraction']:.0%} of peak "
        f"(pop {c['popsize']}, batch {c['batch']}, {c['seconds'] * 1e3:.0f} ms; compile {c['compile_seconds']:.1f} s)",
        f"  vmapped flax:         {r['cnn_pop_eval_vmap_reference']['gflops']:8.1f} GFLOP/s",
        f"ES generation ({e['task']}, {e['strategy']}, pop {e['popsize']}, batch {e['batch']}): "
        f"{e['seconds_per_generation'] * 1e3:.0f} ms vs {e['reference_seconds_per_generation'] * 1e3:.0f} ms "
        f"vmapped flax = {e['speedup']:.1f}x",
        *(f"{k['task'] + ' rollouts:':24s}{k['env_steps_per_second']:,.0f} env steps/s = "
          f"{k['peak_fraction']:.1%} of peak (pop {k['popsize']} x {k['n_rollouts']} rollouts, {k['steps']} steps, {k['flops_per_step']:,} FLOP a step)"
          for k in r["control_rollout"]),
        f"masked Adam epoch:      {r['adam_epoch']['seconds_per_epoch']:.1f} s ({r['adam_epoch']['task']}, batch "
        f"{r['adam_epoch']['batch']}, {r['adam_epoch']['images_per_second']:,.0f} images/s)",
        f"masked PPO:             {r['ppo_steps']['env_steps_per_second']:,.0f} env steps/s ({r['ppo_steps']['task']}, "
        "the paper's settings, updates included)",
        *(f"seed vmap speedup:      {v['speedup']:.2f}x (4 seeds one after another / vmapped, "
          f"{v['n_rollouts']} rollout(s) a member; repetitions {min(v['ratios']):.2f}-{max(v['ratios']):.2f})"
          for v in r["seed_vmap"]),
        *(f"chunked rollouts:       {c['speedup']:.2f}x faster than one pass ({c['task']}, pop {c['popsize']}, "
          f"{c['n_rollouts']} rollout(s) a member: {c['seconds_per_step'] * 1e3:.2f} ms a step)"
          for c in r.get("rollout_chunking", [])),
        (f"generation vs parts:    {r['generation_vs_parts']['ratio']:.2f} (pop {r['generation_vs_parts']['popsize']}, "
         f"batch {r['generation_vs_parts']['batch']}: {r['generation_vs_parts']['generation_seconds'] * 1e3:.1f} ms "
         f"in the scan, {r['generation_vs_parts']['sum_of_parts_seconds'] * 1e3:.1f} ms as parts)"),
        *(f"paper run ({n} seed{'s' if n != '1' else ''}):    {v['minutes']:.0f} min (20 rounds x 4000 generations, "
          f"pop 128, batch 1024; a round compiles in {v['round_compile_seconds']:.0f} s)"
          for n, v in r.get("paper_run", {}).items()),
        (f"numerical guard:        {r['guard_cost']['ratio']:.3f}x the unguarded round ({r['guard_cost']['task']}, pop "
         f"{r['guard_cost']['popsize']}, checked every {r['guard_cost']['eval_every']} generations; repetitions "
         f"{min(r['guard_cost']['ratios']):.3f}-{max(r['guard_cost']['ratios']):.3f})"),
        *(f"IMP rounds ({v['rounds']}, CartPole, {v['generations']} generations): masked search "
          + " / ".join(f"{t:.1f}" for t in v["paper"]["round_seconds"]) + " s, gathered "
          + " / ".join(f"{t:.1f}" for t in v["evosax-0.3"]["round_seconds"]) + " s "
          f"(later rounds / round 1: {v['later_over_first']:.2f})" for v in filter(None, [r.get("imp_round_seconds")])),
        *(f"{d['kernel'] + ' over devices:':24s}" + ", ".join(
            f"{n}: {t * 1e3:.0f} ms {x:.2f}x ({e:.0%})" for n, t, x, e in zip(d["devices"], d["seconds"],
                                                                              d["speedup"], d["efficiency"]))
          + f" ({d['task']}, pop {d['popsize']}; {'the same' if d['identical'] else 'DIFFERENT'} numbers)"
          for d in r.get("device_scaling", [])),
        f"peak RSS:               {r['peak_rss_mb']:.0f} MB",
        f"targets ({r['device']}): " + ", ".join(
            f"{k} {'met' if v else 'not measured' if v is None else 'MISSED'}" for k, v in r["targets_met"].items()),
    ]
    return "\n".join(lines)


def main(json_output: bool = False, quick: bool = False, smoke: bool = False) -> int:
    result = run_suite(quick=quick, smoke=smoke)
    print(json.dumps(result, indent=2) if json_output else summary(result))
    return 0
