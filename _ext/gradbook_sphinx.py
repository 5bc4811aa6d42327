"""Sphinx extension of the book: launch links to the chapter's own notebook, workarounds for
two upstream problems, and a build that re-executes when the package or the environment changes.

Loaded through ``sphinx: local_extensions`` in ``_config.yml``. Each workaround is written
for the exact version of the package it patches and fails the build with a clear message
if another version is installed (:func:`_require`): then check whether the upstream
problem is fixed, and either drop the workaround or re-check it and raise the pin.

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
   de-duplication sees one script. Upstream: no issue found in sphinx-thebe's or
   Sphinx's tracker (searched 2026-12); it should be reported to sphinx-thebe.
   Written for Sphinx 7.4.7 (``sphinx.builders.html._assets``) and sphinx-thebe 0.3.1.

3. Downloadable notebooks after a cache hit. When myst-nb 1.4 takes a page's outputs from
   jupyter-cache, it merges them into a new notebook object but writes the *original*,
   output-free one to ``_build/jupyter_execute``, which sphinx-book-theme then offers as
   the executed ``.ipynb`` download. Before the theme copies it, we merge the cached
   outputs into that file (leaving out myst-nb's glue records, as a fresh execution does).
   Upstream: no issue found in MyST-NB's tracker (searched 2026-12); it should be
   reported. Written for myst-nb 1.4.0 and jupyter-cache 1.0.1.

4. A build that cannot serve stale outputs. jupyter-cache matches a notebook by the
   source of its code cells only, so after an edit to ``code/gradbook`` (or to the
   pinned environment) the cache would hand back outputs that the current code might
   no longer produce, and Sphinx would not even re-read the unchanged chapters. The
   paths named by the setting ``gradbook_environment`` (in ``_config.yml``: the package,
   ``requirements.txt`` and the lock file) are hashed, with the Python version, into a
   fingerprint. It is a Sphinx setting that invalidates the whole environment, so every
   page is read again when it changes, and it is stored beside the execution cache,
   which is emptied when it differs, so every chapter is executed again. This extension's
   own code is fingerprinted too (``gradbook_extension_fingerprint``), since Sphinx does
   not see an edit to it: every page is then read and written again, its outputs taken
   from the cache.

5. Pages that read what the build cannot see change: the claims ledger
   (``book/ledger.md``) and the misconceptions (``book/misconceptions.md``, which quotes
   some of the chapters' claims) read the chapters' executions from the cache, so they
   must be read after the chapters; the instructors' page reads
   ``benchmarks/results.json``. All three must be read on every build, even when their
   own source has not changed (their cells run on every build: ``execution_mode:
   force``). Sphinx reads pages in the order of the list it hands to
   ``env-before-read-docs``; we move these pages to its end, add them to every build's
   outdated pages, and declare the extension unsafe for parallel reading, which would
   read pages in several processes at once.

6. Numbers for people. Every ``{glue:text}`` value (myst-nb renders it as an inline node
   of class ``pasted-text``) that is one printed number is rewritten by
   :func:`gradbook.humanize` (``5.3e-13`` -> ``5.3 × 10⁻¹³``, ``12345`` -> ``12,345``),
   the rule the launch notebooks and the claims tables follow too, so the HTML, the PDF
   and the notebooks print a number the same way.

7. Live Code that says what it needs: ``static/gradbook-livecode.js`` (added to every
   page) watches sphinx-thebe's loading of Thebe and Binder's kernel and, when either
   fails or takes too long, says so on the page with the other ways to run the chapter.

8. The PDF edition (``make pdf``). Its download entry: sphinx-book-theme's ".pdf" entry
   of the download menu opens the browser's print dialog; it is made a link to the whole
   book's PDF (:data:`PDF_NAME` at the site's root, where ``make pdf`` puts it). In the
   LaTeX build the exercise solutions are left out (the PDF says so on its first page),
   and the chapters are numbered as in the HTML (:func:`chapter_numbering`).

9. Explorers (``gb.explorer``): Plotly.js, which ``make`` puts into ``_vendor/plotly``
   (served from ``_static``), is loaded on the pages that have one, and only there.

10. Accessibility (WCAG 2.1 AA, checked with axe-core by the browser tests), fixed where
    the problems come from: theme components overridden in ``templates/`` (the search
    field's and the colour-mode button's accessible names), myst-nb's hidden-cell toggle
    and docutils' bibliography entries rendered without the roles and labels that broke
    the rules, and ``static/gradbook.css`` (link contrast in admonitions).

11. Dark mode from the first paint. pydata-sphinx-theme's script in the page's head sets
    the colour mode to "auto" on a first visit, and its main script, loaded at the end of
    the page, resolves that to dark or light only after the page is drawn: the header's
    buttons are drawn light, then fade to dark over Bootstrap's 0.15 s colour transition
    (a flash for the reader, and an axe-core contrast failure when axe measured a button
    mid-fade). :data:`RESOLVE_AUTO_THEME`, run in the head right after the theme's own
    script, resolves the mode the way the theme's ``setTheme`` does ("auto" from the
    reader's system setting) before anything is drawn; the theme then sets the same
    value again.
    Written for pydata-sphinx-theme 0.16.1.

12. Numbered references without re-reading pages. Sphinx resolves every ``{numref}`` by
    unpickling the whole doctree of the page it points to (``StandardDomain.
    _resolve_numref_xref`` calls ``env.get_doctree``, which keeps the pickled bytes but
    not the tree), once per reference: 86 references cost 4.4 s of every build, more
    than writing all the pages. :class:`_StandardDomain` gives that method an
    environment whose ``get_doctree`` unpickles each page once per build
    (:data:`_NUMREF_DOCTREES`, emptied when the pages have been read and when the build
    ends); the method only reads the tree (a target's ids, its node type and its number).
    Written for Sphinx 7.4.7.

13. Citations without a search of the installed packages. sphinxcontrib-bibtex 2.7 looks
    up pybtex's plain-text backend (``pybtex.plugin.find_plugin``) for every citation it
    resolves, and pybtex looks for it among the entry points of every installed package
    each time: 320 citations cost 3 s of every build. :func:`_register_pybtex_backend`
    finds it once and registers it with pybtex's own ``register_plugin``, which pybtex
    consults before the entry points: the same class, found once.

Launch links (1) are written for sphinx-book-theme 1.2.0, whose ``header_buttons``
context this rewrites.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import sys
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
NOTEBOOKS = "notebooks"
CHAPTER = re.compile(r"ch\d\d_\w+")  # as in scripts/bookfiles.py
STAMP = "gradbook-environment.sha256"  # the fingerprint, stored in the execution cache's folder

# The versions the workarounds above were written for: package -> (version, what it patches).
PATCHED = {
    "sphinx": ("7.4.7", "the de-duplication of Thebe's inline script (2), through sphinx.builders.html._assets; "
               "StandardDomain._resolve_numref_xref (12)"),
    "sphinx-thebe": ("0.3.1", "the inline THEBE_JS_URL script it registers (2)"),
    "myst-nb": ("1.4.0", "the output-free notebook it writes to jupyter_execute after a cache hit (3), "
                "HideCodeCellNode's HTML (10)"),
    "jupyter-cache": ("1.0.1", "merge_match_into_notebook and clear_cache, used by (3) and (4)"),
    "sphinx-book-theme": ("1.2.0", "the header_buttons context the launch links are rewritten in (1)"),
    "pydata-sphinx-theme": ("0.16.1", ("the search field and colour-mode button templates in templates/ (10), "
                            "its resolution of the colour mode auto (11)")),
    "docutils": ("0.21.2", "visit_citation, whose list items are given role listitem (10)"),
}


def _require(package: str) -> None:
    """Fail the build, saying why, if ``package`` is not the version a workaround was written for."""
    version, what = PATCHED[package]
    installed = importlib.metadata.version(package)
    if installed != version:
        raise ExtensionError(
            f"_ext/gradbook_sphinx.py works around {package} {version} ({what}), but {package} {installed} "
            "is installed. Check whether the upstream problem is fixed: drop the workaround if it is, "
            "otherwise re-check it against the new version and update PATCHED."
        )


def environment_fingerprint(root: Path, paths) -> str:
    """A hash of every file under ``paths`` (relative to ``root``), with their names, and of Python's version.

    A missing path counts as missing (its name goes into the hash), so a copy of the book
    without the package (the student edition's source) still gets a stable fingerprint.
    """
    digest = hashlib.sha256(sys.version.encode())
    for name in sorted(paths):
        path = (root / name).resolve()
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts or f.suffix in (".pyc", ".pyo"):
                continue
            digest.update(f"{name}/{f.relative_to(path).as_posix() if path.is_dir() else ''}".encode())
            digest.update(f.read_bytes() if f.exists() else b"<missing>")
    return digest.hexdigest()


def _set_fingerprint(app, config) -> None:
    # Settings with rebuild="env": when a value changes, Sphinx reads every page again.
    config.gradbook_environment_fingerprint = environment_fingerprint(Path(app.srcdir), config.gradbook_environment)
    # This extension's own code: Sphinx does not see an edit to it, and would leave every
    # unchanged page as the old code wrote it. Pages are read again (outputs come from
    # the execution cache; nothing is executed again for this).
    config.gradbook_extension_fingerprint = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def clear_stale_cache(cache_path: Path, fingerprint: str) -> bool:
    """Empty the execution cache at ``cache_path`` if the environment's fingerprint differs
    from the one it was filled under, and record the current one; True if it was emptied.

    Also called by ``scripts/execute_chapters.py``, which fills the cache before Sphinx
    runs (chapters in parallel) and must not take a stale execution for a current one.
    """
    stamp = cache_path.parent / STAMP
    if stamp.exists() and stamp.read_text().strip() == fingerprint:
        return False
    emptied = False
    if cache_path.exists():
        from jupyter_cache import get_cache

        get_cache(str(cache_path)).clear_cache()
        emptied = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")
    return emptied


#: Where the running build keeps its execution cache, for the pages that read the
#: chapters' executions (scripts/bookfiles.py): a kernel inherits the build's environment.
EXECUTION_CACHE_VARIABLE = "GRADBOOK_EXECUTION_CACHE"


def _clear_stale_cache(app) -> None:
    cache_path = Path(app.env.mystnb_config.execution_cache_path)
    # Built with --path-output, the cache is not the repository's _build/.jupyter_cache:
    # the gathering pages must read this build's, never another build's or none.
    os.environ[EXECUTION_CACHE_VARIABLE] = str(cache_path)
    if clear_stale_cache(cache_path, app.config.gradbook_environment_fingerprint):
        LOGGER.info("gradbook: the package or the environment changed; every page is executed again")


#: Pages that read what the build cannot see change (the claims ledger and the
#: misconceptions read the chapters' executions, the instructors' page the benchmark's
#: results.json): read on every build, whether or not their own source changed, and after
#: every other page.
GATHERING_PAGES = ("book/instructors", "book/ledger", "book/misconceptions")


def _gathering_pages_outdated(app, env, added, changed, removed) -> list[str]:
    return [d for d in GATHERING_PAGES if d in env.found_docs and d not in added | changed]


def _read_gathering_pages_last(app, env, docnames) -> None:
    for docname in GATHERING_PAGES:
        if docname in docnames:
            docnames.remove(docname)
            docnames.append(docname)


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


def chapter_numbering(toc: dict) -> str:
    """LaTeX that numbers the PDF's chapters as the HTML book does.

    In the HTML only the parts marked ``numbered`` in _toc.yml are numbered (chapters 1 to
    12); the front matter and the appendices are not. LaTeX numbers every chapter, so the
    front matter would push chapter 1 to 3 and every figure and equation number with it.
    This redefines the displayed numbers: the numbered parts' chapters count from 1, the
    other pages show no number (their sections are numbered within the page).
    """
    before, numbered, seen = 0, 0, False
    for part in toc.get("parts", []):
        count = len(part.get("chapters", []))
        if part.get("numbered"):
            seen, numbered = True, numbered + count
        elif not seen:
            before += count
    last = before + numbered
    # "\ifnum...\ifnum...": true for the chapters of the numbered parts.
    inside = rf"\ifnum\value{{chapter}}>{before} \ifnum\value{{chapter}}<{last + 1} "
    return "\n".join([
        rf"\renewcommand{{\thechapter}}{{{inside}\number\numexpr\value{{chapter}}-{before}\relax\fi\fi}}",
        rf"\renewcommand{{\thesection}}{{{inside}\thechapter.\fi\fi\arabic{{section}}}}",
        # polyglossia sets \chaptername at \begin{document}: redefine it through its hook
        rf"\addto\captionsenglish{{\renewcommand{{\chaptername}}{{{inside}Chapter\fi\fi}}}}",
        # Figures, tables, code blocks and equations by chapter, as numbered above (Sphinx
        # sets them from \arabic{chapter} at \begin{document}; this comes after it).
        r"\AtBeginDocument{\renewcommand{\thefigure}{\thechapter.\arabic{figure}}"
        r"\renewcommand{\thetable}{\thechapter.\arabic{table}}"
        r"\renewcommand{\theliteralblock}{\thechapter.\arabic{literalblock}}"
        r"\renewcommand{\theequation}{\thechapter.\arabic{equation}}}",
        "",
    ])


def _number_chapters_as_the_html(app, config) -> None:
    import yaml

    toc_path = Path(app.srcdir) / "_toc.yml"
    if not toc_path.exists():
        return
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + chapter_numbering(yaml.safe_load(toc_path.read_text()))
    config.latex_elements = elements


#: The PDF edition's file name, at the root of the built site (``make pdf`` copies it there).
PDF_NAME = "gradbook.pdf"


def _link_the_pdf(app, pagename, templatename, context, doctree) -> None:
    """Point the download menu's ".pdf" entry at the book's PDF instead of window.print();
    with ``gradbook_pdf_link`` off (the student edition, which has no PDF), drop it."""
    pathto = context.get("pathto")
    for group in context.get("header_buttons", []):
        buttons = group.get("buttons", []) if isinstance(group, dict) else []
        if not app.config.gradbook_pdf_link:
            buttons[:] = [b for b in buttons if b.get("label") != "download-pdf-button"]
            continue
        for button in buttons:
            if button.get("label") == "download-pdf-button" and pathto is not None:
                button.clear()
                button.update({"type": "link", "url": pathto(PDF_NAME, 1), "text": ".pdf",
                               "tooltip": "Download the whole book as a PDF",
                               "icon": "fas fa-file-pdf", "label": "download-pdf-button"})


def _load_plotly_for_explorers(app, pagename, templatename, context, doctree) -> None:
    """Plotly.js (1.2 MB) only on the pages that have an explorer (gb.explorer)."""
    from gradbook.explorers import CLASS, PLOTLY_JS

    if f'class="{CLASS}"' in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)


def _leave_solutions_out_of_the_pdf(app, doctree, docname) -> None:
    if app.builder.format != "latex":
        return
    from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

    for cls in (solution_node, solution_start_node, solution_end_node):
        for node in list(doctree.findall(cls)):
            node.parent.remove(node)


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


def _humanize_glued_numbers(app, doctree) -> None:
    import gradbook as gb
    from docutils import nodes

    for node in doctree.findall(nodes.inline):
        if "pasted-text" in node["classes"] and len(node.children) == 1:
            text = node.astext()
            pretty = gb.humanize(text)
            if pretty != text:
                node.replace(node.children[0], nodes.Text(pretty))


STATIC = Path(__file__).parent / "static"  # this extension's own scripts and CSS
TEMPLATES = Path(__file__).parent / "templates"  # theme components it overrides


def _add_templates(app, config) -> None:
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.insert(0, str(TEMPLATES))


def _visit_hidden_cell(self, node) -> None:
    """myst-nb's "Show code cell source" toggle, without its aria-label "Toggle hidden
    content", which does not contain the visible text (axe-core rule
    label-content-name-mismatch): the summary's own text names it."""
    from html import escape

    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def _visit_citation(self, node) -> None:
    """A bibliography entry as an item of the list that docutils wraps it in: its role
    doc-biblioentry is deprecated and is no list item, so the list had none in the
    accessibility tree (axe-core rule aria-required-children)."""
    from sphinx.writers.html5 import HTML5Translator

    HTML5Translator.visit_citation(self, node)
    self.body[-1] = self.body[-1].replace('role="doc-biblioentry"', 'role="listitem"')


#: Inline script for the page's head (11): the theme (light or dark) is resolved from the
#: colour mode before the body is drawn, as pydata-sphinx-theme's setTheme resolves it
#: later: a mode of light or dark is the theme, anything else ("auto") the system setting.
RESOLVE_AUTO_THEME = (
    "(function (html) { var mode = html.dataset.mode;"
    ' html.dataset.theme = mode === "light" || mode === "dark" ? mode'
    ' : window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";'
    " })(document.documentElement);"
)


#: Each page's doctree as :class:`_StandardDomain` resolves numbered references to it
#: (12), unpickled once per build: docname -> doctree.
_NUMREF_DOCTREES: dict = {}


class _NumrefEnvironment:
    """The build environment, except that ``get_doctree`` unpickles a page once (12)."""

    def __init__(self, env):
        self._env = env

    def get_doctree(self, docname: str):
        if docname not in _NUMREF_DOCTREES:
            _NUMREF_DOCTREES[docname] = self._env.get_doctree(docname)
        return _NUMREF_DOCTREES[docname]

    def __getattr__(self, name: str):
        return getattr(self._env, name)


def _standard_domain():
    from sphinx.domains.std import StandardDomain

    class _StandardDomain(StandardDomain):
        """Sphinx's standard domain, whose numbered references read each target page once
        per build (12)."""

        def _resolve_numref_xref(self, env, *args, **kwargs):
            return super()._resolve_numref_xref(_NumrefEnvironment(env), *args, **kwargs)

    return _StandardDomain


def register_pybtex_plaintext() -> None:
    """Register pybtex's plain-text backend as a runtime plugin, found once (13). Also
    used by scripts/render_markdown.py, which renders the bibliography's names as text."""
    import pybtex.plugin

    group = "pybtex.backends"
    pybtex.plugin.register_plugin(group, "plaintext", pybtex.plugin.find_plugin(group, "plaintext"),
                                  force=True)


def _register_pybtex_backend(app) -> None:
    register_pybtex_plaintext()


def _forget_numref_doctrees(*_) -> None:
    _NUMREF_DOCTREES.clear()


def _add_static_path(app) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    for package in PATCHED:
        _require(package)
    app.add_config_value("gradbook_environment", [], "env", [list])
    app.add_config_value("gradbook_environment_fingerprint", "", "env", [str])
    app.add_config_value("gradbook_extension_fingerprint", "", "env", [str])
    # Read by scripts/make_notebooks.py for the Colab cell; registered so Sphinx knows it.
    app.add_config_value("gradbook_release", "", "html", [str])
    app.add_config_value("gradbook_student_repository", "", "html", [str])
    # Read by scripts/make_notebooks.py for the launch notebooks' links to the online book.
    app.add_config_value("gradbook_site_url", "", "html", [str])
    # Whether the download menu links the PDF edition (make pdf); off in the student edition.
    app.add_config_value("gradbook_pdf_link", True, "html", [bool])
    app.connect("config-inited", _set_fingerprint)
    app.connect("config-inited", _number_chapters_as_the_html)
    app.connect("builder-inited", _add_static_path)
    app.connect("config-inited", _add_templates)
    app.add_js_file("gradbook-livecode.js", loading_method="defer")
    app.add_js_file(None, body=RESOLVE_AUTO_THEME, priority=1)
    app.add_css_file("gradbook.css")
    from docutils import nodes
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput
    from sphinx.writers.html5 import HTML5Translator

    app.add_node(HideCodeCellNode, override=True, html=(_visit_hidden_cell, depart_HideCellInput))
    app.add_node(nodes.citation, override=True,
                 html=(_visit_citation, HTML5Translator.depart_citation))
    app.connect("doctree-read", _humanize_glued_numbers)
    app.add_domain(_standard_domain(), override=True)
    app.connect("env-updated", _forget_numref_doctrees)
    app.connect("builder-inited", _register_pybtex_backend)
    app.connect("build-finished", _forget_numref_doctrees)
    # After myst-nb (priority 500) has set the execution cache's path.
    app.connect("builder-inited", _clear_stale_cache, priority=600)
    # Before sphinx-book-theme (priority 501) copies the notebook for download.
    app.connect("html-page-context", _restore_cached_outputs, priority=400)
    app.connect("env-before-read-docs", _dedupe_inline_scripts, priority=900)
    app.connect("env-get-outdated", _gathering_pages_outdated)
    app.connect("html-page-context", _link_the_pdf, priority=600)
    app.connect("html-page-context", _load_plotly_for_explorers)
    app.connect("doctree-resolved", _leave_solutions_out_of_the_pdf)
    app.connect("env-before-read-docs", _read_gathering_pages_last, priority=950)
    # sphinx-book-theme adds the launch buttons at priority 501.
    app.connect("html-page-context", _point_launch_links_at_notebooks, priority=600)
    # Read serially: a gathering page must be read after the chapters it gathers.
    return {"parallel_read_safe": False, "parallel_write_safe": True}
