"""Cores of their own for grid cells (``--cores-per-cell``): claims that exclude each other across processes."""

import json
import os
import subprocess
import sys

import pytest

from lottery_kit.affinity import core_groups

HOLD = """
import json, os, sys
from lottery_kit.affinity import own_cores
with own_cores(int(sys.argv[2]), sys.argv[1]) as group:
    print(json.dumps([group, sorted(os.sched_getaffinity(0))]), flush=True)
    sys.stdin.readline()
print(json.dumps(sorted(os.sched_getaffinity(0))), flush=True)
"""


class Holder:
    """A process that claims cores, reports what it got and holds them until released."""

    def __init__(self, claims, per_cell=1):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, str(claims), str(per_cell)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.group, self.affinity = json.loads(self.proc.stdout.readline())

    def release(self):
        """The process's affinity after the block."""
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        after = json.loads(self.proc.stdout.readline())
        self.proc.wait(timeout=30)
        return after


def test_core_groups():
    assert core_groups(2, [3, 0, 1, 2, 5]) == [[0, 1], [2, 3]]
    assert core_groups(1, [4]) == [[4]] and core_groups(2, [4]) == []


def test_each_claim_gets_cores_no_other_holds_and_gives_them_back(tmp_path):
    cores = sorted(os.sched_getaffinity(0))
    holders = [Holder(tmp_path) for _ in cores]   # each has claimed before the next starts
    assert sorted(h.group[0] for h in holders) == cores
    assert all(h.affinity == h.group and len(h.group) == 1 for h in holders)
    late = Holder(tmp_path)                       # every core is held: it runs unpinned
    assert late.group is None and late.affinity == cores
    assert late.release() == cores
    freed = holders[0].group
    assert holders[0].release() == cores          # the process may run everywhere again after the block
    again = Holder(tmp_path)
    assert again.group == freed
    for h in [*holders[1:], again]:
        h.release()


def test_a_group_is_claimed_whole_or_not_at_all(tmp_path):
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.fail("this test needs 2 cores (CI has 2)")
    one = Holder(tmp_path, per_cell=1)            # holds cores[0]: the group of cores[0] and cores[1] is not free
    whole = Holder(tmp_path, per_cell=len(cores))
    assert whole.group is None and whole.affinity == cores
    whole.release()
    one.release()
    whole = Holder(tmp_path, per_cell=len(cores))
    assert whole.group == cores
    whole.release()
