"""JupyterLab from the project's environment opens either file of a notebook pair as a notebook.

The Makefile installs ``.jupyter/overrides.json`` into the environment, which makes Jupytext's notebook view the
default for ``.py`` files and turns off the "notified about official Jupyter news?" pop-up. Checked through the server's REST API, and in headless Chromium where it is installed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("jupyterlab")  # one worker: one JupyterLab server

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json").exists():
        pytest.skip("JupyterLab settings overrides are installed by `make setup` into .venv")
    port = _free_port()
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("jupyter_config")),
                        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("workspaces"))}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
                             "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={ROOT}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            assert time.time() < deadline and proc.poll() is None, "JupyterLab did not start"
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _get(url):
    return json.loads(urllib.request.urlopen(url, timeout=30).read())


def test_python_files_open_in_the_jupytext_notebook_view(lab):
    settings = _get(f"{lab}/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    assert settings["schema"]["properties"]["defaultViewers"]["default"]["python"] == "Jupytext Notebook"
    for name in ("imp_es", "imp_gd", "transfer"):
        model = _get(f"{lab}/api/contents/notebooks/{name}.py?type=notebook&content=1")
        paired = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        assert model["type"] == "notebook" and len(model["content"]["cells"]) == len(paired["cells"])


def test_no_news_pop_up(lab):
    """JupyterLab asks a newcomer whether to be notified about official Jupyter news unless fetchNews is decided."""
    defaults = _get(f"{lab}/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_shows_the_py_file_as_a_notebook(lab, tmp_path):
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path}", "--virtual-time-budget=25000", "--dump-dom",
                          f"{lab}/lab/tree/notebooks/imp_gd.py"], capture_output=True, text=True, timeout=120).stdout
    assert "Iterative magnitude pruning with gradient descent" in dom
    assert 'jp-NotebookPanel jp-Document' in dom and 'class="lm-Widget jp-FileEditor' not in dom
