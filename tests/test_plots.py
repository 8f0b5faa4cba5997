"""The paper's aggregate: tasks normalised over their joint range, then averaged level by level."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lottery_kit import plots  # noqa: E402


def _rows(task, total, scores, keep_ratio=0.8):
    """One seed's IMP rows of a network with ``total`` prunable weights (exact kept counts, rounded down)."""
    kept = [total]
    for _ in scores[1:]:
        kept.append(int(kept[-1] * keep_ratio))
    return pd.DataFrame({"task": task, "seed": 0, "round": range(1, len(scores) + 1), "keep_ratio": keep_ratio,
                         "weights_remaining": np.array(kept) / total, "best_perf": scores, "baseline": "final-ticket"})


def test_tasks_of_other_sizes_share_each_level_of_the_aggregate():
    a = _rows("a", 11240, [0.9, 0.8, 0.5])       # 11240, 8992, 7193 weights: 0.64 -> 0.63996
    b = _rows("b", 4610, [-200.0, -600.0, -1000.0])
    assert a["weights_remaining"].iloc[2] != b["weights_remaining"].iloc[2]
    ax = plots.aggregate_plot(pd.concat([a, b], ignore_index=True))
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), [64.0, 80.0, 100.0])          # one point per round
    # each task min-max normalised over its own range, then the mean of the two tasks
    np.testing.assert_allclose(line.get_ydata(), [(0.0 + 0.0) / 2, (0.75 + 0.5) / 2, (1.0 + 1.0) / 2])


def test_without_keep_ratio_a_round_is_placed_at_its_mean_fraction():
    rows = pd.concat([_rows("a", 11240, [1.0, 0.0]), _rows("b", 4610, [1.0, 0.0])]).drop(columns="keep_ratio")
    level = plots.nominal_remaining(rows)
    np.testing.assert_allclose(level[rows["round"] == 2], (8992 / 11240 + 3688 / 4610) / 2)
