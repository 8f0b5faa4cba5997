"""Sphinx configuration of lottery-kit's documentation (`make docs`; design.md says why Sphinx with MyST-NB)."""

import os
import re

os.environ.setdefault("JAX_PLATFORMS", "cpu")       # the API reference imports the package; it never needs a device
os.environ.setdefault("LOTTERY_KIT_OFFLINE", "1")

project = "lottery-kit"
author = "lottery-kit contributors"
copyright = "lottery-kit contributors"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax"]

# Pages are MyST Markdown; tutorials are the notebooks of notebooks/ (linked into tutorials/), shown as committed:
# the docs build never executes a notebook.
nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "**/_autosummary/*.rst~"]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True

html_theme = "sphinx_book_theme"
html_title = "lottery-kit"
html_static_path = []
html_theme_options = {"show_toc_level": 2, "home_page_in_toc": True}
html_show_sourcelink = False
templates_path = ["_templates"]   # a package's page shows its public names unindexed: the defining module owns them

LITERAL = re.compile(r"(``.*?``)")
TRAILING_UNDERSCORE = re.compile(r"(\w)_\b")   # round_ is a name, not a link target


def plain_docstring(app, what, name, obj, options, lines):
    """Docstrings are plain text with ``literals`` and roles: ``|``, ``*`` and a name's trailing ``_`` in them are
    text (|x|, θ0 * mask, **kwargs, round_), never reStructuredText markup; a table drawn with ``|`` shows as drawn."""
    out, table = [], []
    for line in lines + [""]:
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        if table:
            out += ["::", ""] + ["    " + row.strip() for row in table] + [""]
            table = []
        parts = LITERAL.split(line)
        out.append("".join(p if p.startswith("``") else TRAILING_UNDERSCORE.sub(r"\1\\_", p.replace("*", r"\*")
                                                                           .replace("|", r"\|")) for p in parts))
    lines[:] = out[:-1]


def setup(app):
    app.connect("autodoc-process-docstring", plain_docstring)
