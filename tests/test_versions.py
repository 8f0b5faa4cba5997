"""Every run records the versions that produced it, the kit's own commit included."""

import subprocess
from pathlib import Path

from lottery_kit.store import kit_commit, versions

ROOT = Path(__file__).resolve().parent.parent


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_versions_name_the_kits_commit():
    recorded = versions()["lottery-kit_commit"]
    assert recorded.split("+")[0] == _git("rev-parse", "HEAD", cwd=ROOT)


def test_a_changed_package_file_marks_the_commit_dirty(tmp_path):
    repo = tmp_path / "kit"
    (repo / "lottery_kit").mkdir(parents=True)
    (repo / "lottery_kit" / "a.py").write_text("x = 1\n")
    _git("init", "-q", cwd=repo)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".", cwd=repo)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one", cwd=repo)
    head = _git("rev-parse", "HEAD", cwd=repo)
    assert kit_commit(repo) == head
    (repo / "results.txt").write_text("untracked output does not count\n")
    assert kit_commit(repo) == head
    (repo / "lottery_kit" / "a.py").write_text("x = 2\n")
    assert kit_commit(repo) == head + "+dirty"


def test_outside_git_there_is_no_commit(tmp_path):
    assert kit_commit(tmp_path) is None
