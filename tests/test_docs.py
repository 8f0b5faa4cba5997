"""The documentation site (docs/): it builds with warnings as errors, a real browser shows its home page and a tutorial
with their figures, and every code block on its pages (and in the README) runs under a test.

Code blocks: ``python`` blocks run, page by page, in a fresh process in a temporary directory (the extension
recipes of docs/how-to/extend.md run in tests/test_extending.py, through a notebook); ``yaml`` blocks (cluster
profiles) build the real dask-jobqueue cluster and its job script; ``bash`` blocks are commands that would train for
minutes to hours, so each command is checked against what it names: the Makefile's targets, the notebooks' declared
parameters, the CLI's own parser, the grid files, scripts and extras it uses.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and "_autosummary" not in p.parts)
FENCE = re.compile(r"^```(\S*)")
CODE_PAGES = PAGES + [ROOT / "README.md"]                # the README's blocks are checked alike
RUN_ELSEWHERE = {DOCS / "how-to" / "extend.md"}          # tests/test_extending.py runs these recipes


def fenced(page: Path) -> list[tuple[str, int, str]]:
    """The page's fenced blocks: (info string, line of the opening fence, code); MyST directives are ``{name}``."""
    found, opened = [], None
    for number, line in enumerate(page.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence and opened is None:
            opened = (fence.group(1), number, [])
        elif line.startswith("```") and opened is not None:
            found.append((opened[0], opened[1], "\n".join(opened[2]) + "\n"))
            opened = None
        elif opened is not None:
            opened[2].append(line)
    return found


def blocks(language: str) -> list[tuple[Path, int, str]]:
    return [(page, line, code) for page in CODE_PAGES for info, line, code in fenced(page) if info == language]


def where(page: Path, line: int) -> str:
    return f"{page.relative_to(ROOT)}:{line}"


# ------------------------------------------------------------------------------------------------- the build
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from a copy of docs/ (autosummary writes its pages into the source tree), warnings as errors."""
    src = tmp_path_factory.mktemp("docs_src")
    shutil.copytree(DOCS, src / "docs", symlinks=True, ignore=shutil.ignore_patterns("_build", "_autosummary"))
    for name in ("notebooks", "papers_figures", "benchmarks", "CHANGELOG.md", "lottery_kit"):
        (src / name).symlink_to(ROOT / name)
    html = tmp_path_factory.mktemp("docs_html")
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src / "docs"),
                            str(html)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0 and not build.stderr.strip(), f"the docs do not build cleanly:\n{build.stderr[-5000:]}"
    return html


def test_the_site_builds_every_page(site):
    for page in PAGES:
        built = site / page.relative_to(DOCS).with_suffix(".html")
        assert built.exists(), f"{page.relative_to(ROOT)} was not built"
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "tutorials" / f"{notebook.stem}.html").exists(), f"no tutorial page for {notebook.name}"
    assert (site / "_autosummary" / "lottery_kit.imp.html").exists(), "the API reference lacks lottery_kit.imp"


IMAGES_LOADED = ("<script>window.addEventListener('load', () => document.documentElement.setAttribute('data-images', "
                 "[...document.images].map(i => i.getAttribute('src') + '=' + i.naturalWidth).join(' ')))</script>")


def _browser_dom(page: Path, profile: Path) -> str:
    page.write_text(page.read_text().replace("</body>", IMAGES_LOADED + "</body>"))   # the temporary build only
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--allow-file-access-from-files", f"--user-data-dir={profile}",
                           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120).stdout


def _images(dom: str) -> dict[str, int]:
    listed = re.search(r'data-images="([^"]*)"', dom)
    assert listed, "the page did not finish loading in the browser"
    return {src: int(width) for src, width in (item.rsplit("=", 1) for item in listed.group(1).split())}


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("page, title, figure", [
    ("index.html", "Sparse trainability without backpropagation", "quickstart_ticket_effect.png"),
    ("tutorials/index.html", "The tutorials are the kit", "quickstart_ticket_effect.png"),
    ("report.html", "Reproduction report", "fig9_long_budget.png"),
])
def test_a_browser_shows_the_page_with_its_figures(site, tmp_path, page, title, figure):
    dom = _browser_dom(site / page, tmp_path)
    assert title in dom and "bd-sidebar" in dom, f"{page} did not render"
    images = _images(dom)
    assert any(src.endswith(figure) for src in images), f"{page} shows no {figure}: {images}"
    assert all(width > 0 for width in images.values()), f"{page}: figures the browser could not load: {images}"


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_shows_a_tutorial_notebook(site, tmp_path):
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "imp_es.ipynb", as_version=4)
    dom = _browser_dom(site / "tutorials" / "imp_es.html", tmp_path)
    assert "Iterative magnitude pruning with evolution strategies" in dom
    code_cells = sum(c.cell_type == "code" for c in notebook.cells)
    shown = len(re.findall(r'class="cell[ "]', dom))
    assert shown == code_cells, f"the tutorial shows {shown} of the notebook's {code_cells} code cells"
    assert all(width > 0 for width in _images(dom).values())


# ------------------------------------------------------------------------------------------------- code blocks
def test_every_code_block_has_a_runner():
    unrun = [f"{where(page, line)} ({info or 'no language'})" for page in CODE_PAGES for info, line, _ in fenced(page)
             if info not in ("python", "bash", "yaml") and not info.startswith("{")]
    assert not unrun, f"code blocks that no test runs: {unrun}"


@pytest.mark.parametrize("page", sorted({p for p, _, _ in blocks("python")} - RUN_ELSEWHERE),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path):
    code = "\n".join(code for p, _, code in blocks("python") if p == page)
    env = os.environ | {"LOTTERY_KIT_PROGRESS": "0", "LOTTERY_KIT_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, f"{page.relative_to(ROOT)}'s python blocks fail:\n{run.stderr[-4000:]}"


def test_extension_recipes_are_the_ones_test_extending_runs():
    from test_extending import recipes

    assert recipes() == "\n".join(code for p, _, code in blocks("python") if p in RUN_ELSEWHERE)


@pytest.mark.parametrize("page, line, code", blocks("yaml"), ids=[where(p, n) for p, n, _ in blocks("yaml")])
def test_yaml_blocks_are_profiles_dask_jobqueue_takes(page, line, code, tmp_path, monkeypatch):
    from lottery_kit.grid import make_jobqueue_cluster

    monkeypatch.chdir(tmp_path)
    profile = yaml.safe_load(code)
    cluster = make_jobqueue_cluster(profile)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for directive in profile.get("job_extra_directives", []):
        assert directive in script, f"{where(page, line)}: {directive} is not in the job script"


def _declared(notebook: str) -> set[str]:
    import papermill as pm

    return set(pm.inspect_notebook(str(ROOT / notebook)))


def _papermill(args, at):
    notebook, _, *rest = args
    assert (ROOT / notebook).exists(), f"{at}: no notebook {notebook}"
    names = {rest[i + 1] for i, a in enumerate(rest) if a == "-p"}
    for i, a in enumerate(rest):
        if a == "-y":
            names |= set(yaml.safe_load(rest[i + 1]))
    assert names <= _declared(notebook), f"{at}: {notebook} declares no {sorted(names - _declared(notebook))}"


def _lottery_kit(args, at):
    from lottery_kit.cli import build_parser

    parsed = build_parser().parse_args(args)
    if args[0] == "grid":
        assert (ROOT / parsed.notebook).exists(), f"{at}: no notebook {parsed.notebook}"
        names = {args[i + 1].split("=", 1)[0] for i, a in enumerate(args) if a == "-p"}
        assert names <= _declared(parsed.notebook), f"{at}: {parsed.notebook} declares no {names}"
    grid = getattr(parsed, "grid", None)
    if grid:
        assert (ROOT / grid).exists(), f"{at}: no grid file {grid}"


def _check_command(words: list[str], at: str):
    env = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    command, args = words[0], words[1:]
    if command == "make":
        targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
        assert set(args) <= targets, f"{at}: the Makefile has no target {set(args) - targets}"
    elif command in ("pip",):
        assert args[:1] == ["install"] and (ROOT / args[args.index("-c") + 1]).exists()
        extras = re.search(r"\[(.*)\]", args[-1]).group(1).split(",")
        pyproject = (ROOT / "pyproject.toml").read_text()
        assert all(re.search(rf"^{e} = \[", pyproject, re.M) for e in extras), f"{at}: unknown extras {extras}"
    elif command == ".venv/bin/papermill":
        _papermill(args, at)
    elif command == ".venv/bin/lottery-kit":
        _lottery_kit(args, at)
    elif command == ".venv/bin/python":
        assert (ROOT / args[0]).is_file(), f"{at}: no script {args[0]}"
    elif command == "papers_figures/regenerate.sh":
        for grid in env.get("GRIDS", "").split():
            assert (ROOT / "papers_figures" / "grids" / f"{grid}.yaml").exists(), f"{at}: no grid {grid}"
    else:
        raise AssertionError(f"{at}: no rule checks the command {command!r}; add one to tests/test_docs.py")


@pytest.mark.parametrize("page, line, code", blocks("bash"), ids=[where(p, n) for p, n, _ in blocks("bash")])
def test_bash_blocks_name_what_exists(page, line, code):
    joined = re.sub(r"\\\n\s*", " ", code)
    for offset, command in enumerate(joined.splitlines()):
        words = shlex.split(command, comments=True)
        if words:
            _check_command(words, where(page, line + 1 + offset))
