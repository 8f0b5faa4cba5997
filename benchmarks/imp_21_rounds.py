"""A 21-round IMP run at a tiny budget (CartPole-v1, SNES, population 4, 2 generations a round, 3 seeds):
round 1 (with its compile) against the later rounds, timed from the rounds' DONE markers. One JSON line.

Run: .venv/bin/python benchmarks/imp_21_rounds.py
"""
import json
import os
import pathlib
import tempfile
import time

import lottery_kit as lk

out = tempfile.mkdtemp() + "/run"
t0 = time.time()
df = lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1, 2], rounds=21,
                   keep_ratio=0.8, generations=2, popsize=4, eval_every=1, out_dir=out, progress=False)
total = time.time() - t0
marks = sorted(pathlib.Path(out, "rounds").glob("round_*/DONE"))
times = [os.path.getmtime(m) for m in marks]
gaps = [b - a for a, b in zip(times, times[1:])]
print(json.dumps({"rounds": len(marks), "total_s": round(total, 1), "first_round_s": round(times[0] - t0, 1),
                  "later_rounds_s_median": round(sorted(gaps)[len(gaps)//2], 2), "later_max": round(max(gaps), 2)}))
