"""User documents speak of the project alone.

README, CHANGELOG, docs, notebooks, figure notebooks, grid files, status lists, benchmark notes and scripts, and the
package's comments and docstrings never tell how the work was done: no issue numbers, no work sessions or sittings,
no times of day, no team or its process, and no notes that are not in the repository (cite the paper, Lange &
Sprekeler 2023, or the file that holds the measurement). Each file is its own case; a failure names file and line.
"""

import codecs
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: pattern → what it tells (case-insensitive).
DENIED = {
    r"\bissues? ?#?\d+": "an issue number",
    r"\bissue \"": "an issue's title",
    r"\bsessions?\b": "a work session",
    r"\bsittings?\b": "a sitting of the team",
    r"\b(morning|afternoon|evening)\b": "a time of day of the work",
    r"\bsubmissions?\b": "a submission of the work",
    r"\b(engineers?|teammates?|the lead)\b": "the team",
    r"\bworktrees?\b": "a working copy outside the repository",
    r"(?<![\w.])/work/": "a path outside the repository",
    r"\b(?:paper|design|perf)-(?:notes|sketch)\b": "notes that are not in the repository",
    r"\bour (notes|measurements?|runs?)\b": "the team's notes or measurements instead of the file that holds them",
}
#: What a match may legitimately be part of.
ALLOWED = [r"scope=\"session\""]
SUFFIXES = {".md", ".py", ".ipynb", ".sh", ".yaml", ".yml", ".toml", ".txt", ".json", ".cfg", ".ini"}
SKIPPED = ("papers_figures/results", "tests/golden/", "benchmarks/cpu-", "benchmarks/gpu-", "benchmarks/pinned-",
           "benchmarks/rollout-", "benchmarks/sigma-", "constraints.txt", "tests/test_user_documents.py")


def user_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    names = listed.stdout.split() if listed.returncode == 0 else \
        [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return sorted(n for n in set(names) if Path(n).suffix in SUFFIXES | {""} and not n.startswith(SKIPPED)
                  and (ROOT / n).is_file() and not n.startswith(".") or n in {".ci/run", ".jupyter/overrides.json"})


def findings(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        cleaned = line
        for allowed in ALLOWED:
            cleaned = re.sub(allowed, "", cleaned)
        for pattern, what in DENIED.items():
            for match in re.finditer(pattern, cleaned, re.I):
                found.append((number, match.group(0), what))
    return found


def test_the_patterns_find_what_they_deny():
    # rot13, so that no file of the repository holds the wording it denies
    text = codecs.decode((ROOT / "tests/golden/denied_wording.rot13").read_text(), "rot13")
    assert [what for _, _, what in findings(text)] == [
        "an issue number", "a work session", "a time of day of the work", "notes that are not in the repository",
        "the team's notes or measurements instead of the file that holds them"]


def test_file_names_tell_what_the_file_does():
    named = [n for n in user_files() if findings(Path(n).name.replace("_", " ").replace("-", " "))]
    assert not named, f"file names that tell the work's history instead of what the file does: {named}"


@pytest.mark.parametrize("name", user_files())
def test_user_document_speaks_of_the_project_alone(name):
    text = (ROOT / name).read_text(errors="replace")
    found = findings(text)
    assert not found, "\n".join(
        [f"{name} tells how the work was done instead of what the project is:"] +
        [f"  {name}:{line}: '{match}' ({what})" for line, match, what in found] +
        ["Say what the project does, what is done and what remains; cite the paper (Lange & Sprekeler 2023) or the "
         "repository's file that holds a measurement; put what changed when in CHANGELOG.md, by date."])
