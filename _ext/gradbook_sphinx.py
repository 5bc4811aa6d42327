"""Sphinx extension of the book: launch links to the chapter's own notebook, and a fix for
a duplicated Thebe script.

Loaded through ``sphinx: local_extensions`` in ``_config.yml``.

1. Launch links. The chapters are MyST Markdown notebooks (``book/chNN_*.md``). Binder
   and Colab should open the chapter as a notebook, and Colab opens only ``.ipynb``
   files from GitHub, so ``scripts/make_notebooks.py`` writes an output-free ``.ipynb``
   twin of every chapter into ``notebooks/`` (checked to be up to date by the tests).
   Here the Binder and Colab links of sphinx-book-theme are pointed at that twin.

2. Thebe. sphinx-thebe registers an inline ``<script>`` (``const THEBE_JS_URL = ...``)
   with ``app.add_js_file(None, body=...)`` during ``env-before-read-docs``, after the
   HTML builder was initialised. Sphinx 7 then stores it in the builder as a script
   whose file name is ``None``, and re-adds the registry's copy at writing time with the
   file name ``""``; the two do not compare equal, so every page declares the constant
   twice and the browser reports "Identifier 'THEBE_JS_URL' has already been declared".
   We give the builder's copy the file name ``""`` as well, so Sphinx's own
   de-duplication sees one script.

3. Downloadable notebooks after a cache hit. When myst-nb 1.4 takes a page's outputs from
   jupyter-cache, it merges them into a new notebook object but writes the *original*,
   output-free one to ``_build/jupyter_execute``, which sphinx-book-theme then offers as
   the executed ``.ipynb`` download. Before the theme copies it, we merge the cached
   outputs into that file (leaving out myst-nb's glue records, as a fresh execution does).
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
NOTEBOOKS = "notebooks"
CHAPTER = re.compile(r"ch\d\d_\w+")  # as in scripts/bookfiles.py


def _dedupe_inline_scripts(app, env, docnames) -> None:
    builder = app.builder
    files = getattr(builder, "_js_files", None)
    if files is None:
        return
    from sphinx.builders.html._assets import _JavaScript

    fixed = []
    for asset in files:
        if isinstance(asset, _JavaScript) and asset.filename is None:
            asset = _JavaScript("", priority=asset.priority, **asset.attributes)
        if asset not in fixed:
            fixed.append(asset)
    files[:] = fixed


def _point_launch_links_at_notebooks(app, pagename, templatename, context, doctree) -> None:
    buttons = context.get("header_buttons", [])
    for group in list(buttons):
        if group.get("label") != "launch-buttons":
            continue
        source = Path(app.env.doc2path(pagename))
        if not CHAPTER.fullmatch(source.stem):
            # A page that runs code but is no chapter (the instructors' page reads the
            # benchmark's results): nothing there for a reader to launch.
            buttons.remove(group)
            return
        twin = Path(app.srcdir) / NOTEBOOKS / f"{source.stem}.ipynb"
        if not twin.exists():
            LOGGER.warning(
                "%s has no notebook twin %s: run `make notebooks`", pagename, twin.relative_to(app.srcdir)
            )
            return
        old = f"{pagename}.md"
        new = f"{NOTEBOOKS}/{source.stem}.ipynb"
        for button in group.get("buttons", []):
            if button.get("type") == "link" and old in button.get("url", ""):
                button["url"] = button["url"].replace(old, new)


def _restore_cached_outputs(app, pagename, templatename, context, doctree) -> None:
    import nbformat

    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists():
        return
    nb = nbformat.read(executed, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or any(c.get("outputs") for c in code):
        return
    from jupyter_cache import get_cache

    cache_path = app.config["nb_execution_cache_path"] or str(Path(app.outdir).parent / ".jupyter_cache")
    if not Path(cache_path).exists():
        return
    try:
        _, merged = get_cache(cache_path).merge_match_into_notebook(nb)
    except KeyError:  # no cached execution of this exact code: nothing to restore
        return
    for cell in merged.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if "scrapbook" not in o.get("metadata", {})]
    nbformat.write(merged, executed)


def setup(app):
    # Before sphinx-book-theme (priority 501) copies the notebook for download.
    app.connect("html-page-context", _restore_cached_outputs, priority=400)
    app.connect("env-before-read-docs", _dedupe_inline_scripts, priority=900)
    # sphinx-book-theme adds the launch buttons at priority 501.
    app.connect("html-page-context", _point_launch_links_at_notebooks, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
