"""A build never serves outputs that the current package or environment might not produce.

jupyter-cache matches a notebook by its code cells only; _ext/gradbook_sphinx.py adds the
package and the pinned environment to what decides whether a page is executed again.
This test builds a one-page book three times: unchanged, the cached outputs are reused;
after an edit to the package, or to the requirements, the page is executed again.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JB = Path(sys.executable).with_name("jupyter-book")

PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# A page

```{code-cell} ipython3
import uuid
print("execution", uuid.uuid4().hex)
```
"""

CONFIG = """title: stale-build test
only_build_toc_files: true
execute:
  execute_notebooks: cache
sphinx:
  local_extensions:
    gradbook_sphinx: _ext/
  config:
    gradbook_environment: [pkg, requirements.txt]
"""


def _one_page_book(tmp_path: Path) -> Path:
    """A book of one page (:data:`PAGE`) with the book's extension, in ``tmp_path/book``."""
    book = tmp_path / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext")
    (book / "_config.yml").write_text(CONFIG)
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(PAGE)
    return book


def _extension():
    """The book's Sphinx extension, _ext/gradbook_sphinx.py, as a module."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import gradbook_sphinx
    finally:
        sys.path.pop(0)
    return gradbook_sphinx


def _jupyter_book(book: Path, *options: str, check: bool = True) -> subprocess.CompletedProcess:
    """``jupyter-book build book --builder html *options``, its output captured."""
    return subprocess.run([str(JB), "build", str(book), "--builder", "html", *options], check=check,
                          capture_output=True, text=True)


def _build(book: Path) -> str:
    _jupyter_book(book)
    html = (book / "_build" / "html" / "page.html").read_text()
    return re.search(r"execution ([0-9a-f]{32})", html).group(1)


@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed next to this Python")
def test_a_change_to_the_package_or_the_requirements_re_executes(tmp_path):
    book = _one_page_book(tmp_path)
    (book / "pkg").mkdir()
    (book / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    (book / "requirements.txt").write_text("torch==2.13.0\n")

    first = _build(book)
    assert _build(book) == first, "unchanged: the cached outputs are used"
    (book / "pkg" / "mod.py").write_text("def f():\n    return 2\n")
    after_package = _build(book)
    assert after_package != first, "an edit to the package must re-execute the page"
    (book / "requirements.txt").write_text("torch==2.13.0\nnumpy==2.4.6\n")
    assert _build(book) != after_package, "an edit to the requirements must re-execute the page"


@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed next to this Python")
def test_an_edit_to_the_extension_rewrites_the_pages_without_executing_them(tmp_path):
    """Sphinx does not see an edit to an extension's code: without the extension's own
    fingerprint the unchanged pages would stay as the old code wrote them."""
    book = _one_page_book(tmp_path)
    page = book / "_build" / "html" / "page.html"

    first = _build(book)
    written = page.stat().st_mtime_ns
    assert _build(book) == first and page.stat().st_mtime_ns == written  # nothing changed
    with (book / "_ext" / "gradbook_sphinx.py").open("a") as f:
        f.write("\n# an edit\n")
    assert _build(book) == first, "the page must not be executed again"
    assert page.stat().st_mtime_ns != written, "the page must be written again"


def test_the_fingerprint_covers_files_names_and_missing_paths(tmp_path):
    ext = _extension()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    base = ext.environment_fingerprint(tmp_path, ["pkg", "missing.txt"])
    assert base == ext.environment_fingerprint(tmp_path, ["missing.txt", "pkg"])  # order does not matter
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert ext.environment_fingerprint(tmp_path, ["pkg", "missing.txt"]) == base  # byte code is ignored
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert ext.environment_fingerprint(tmp_path, ["pkg", "missing.txt"]) != base  # a renamed file counts
    (tmp_path / "missing.txt").write_text("")
    assert ext.environment_fingerprint(tmp_path, ["pkg", "missing.txt"]) != base


def test_pages_that_read_the_build_are_read_last_and_always():
    """The ledger and the misconceptions read the chapters' executions: Sphinx must read
    them after every chapter, and on every build even when their own source is unchanged."""
    from types import SimpleNamespace

    ext = _extension()

    docnames = ["book/ch01_x", "book/ledger", "book/ch12_y", "book/misconceptions", "book/notation"]
    ext._read_gathering_pages_last(None, None, docnames)
    assert docnames[:3] == ["book/ch01_x", "book/ch12_y", "book/notation"]
    assert set(docnames[3:]) == {"book/ledger", "book/misconceptions"}
    env = SimpleNamespace(found_docs={"book/ledger", "book/misconceptions", "book/ch01_x"})
    outdated = ext._gathering_pages_outdated(None, env, added=set(), changed={"book/ledger"}, removed=set())
    assert outdated == ["book/misconceptions"]  # instructors is not a page of this book


def test_numbered_references_read_each_page_once_per_build():
    """Sphinx unpickles a page's doctree for every {numref} to it; the extension's
    environment for numbered references (its point 12) reads each page once, until the
    pages are read again."""
    from types import SimpleNamespace

    ext = _extension()
    from sphinx.domains.std import StandardDomain

    reads = []
    env = SimpleNamespace(get_doctree=lambda name: reads.append(name) or object(), toc_fignumbers={"a": 1})
    numref_env = ext._NumrefEnvironment(env)
    first = numref_env.get_doctree("a")
    assert numref_env.get_doctree("a") is first and numref_env.get_doctree("b") is not first
    assert reads == ["a", "b"]
    assert numref_env.toc_fignumbers == {"a": 1}  # everything else is the environment's
    ext._forget_numref_doctrees(None, env)  # when the pages have been read again
    numref_env.get_doctree("a")
    assert reads == ["a", "b", "a"]
    assert issubclass(ext._standard_domain(), StandardDomain)


def test_citations_find_pybtex_backend_without_searching_the_packages(monkeypatch):
    """sphinxcontrib-bibtex asks pybtex for its plain-text backend once per citation; the
    extension (its point 13) registers the class pybtex finds, so later lookups do not
    search every installed package's entry points."""
    ext = _extension()
    import pybtex.plugin

    found = pybtex.plugin.find_plugin("pybtex.backends", "plaintext")
    ext._register_pybtex_backend(None)

    def searched(**_):
        raise AssertionError("pybtex searched the installed packages' entry points")

    monkeypatch.setattr(pybtex.plugin, "entry_points", searched)
    assert pybtex.plugin.find_plugin("pybtex.backends", "plaintext") is found


def _repository_execute_settings() -> str:
    """The ``execute:`` block of the book's own _config.yml, as YAML."""
    import yaml

    return yaml.safe_dump({"execute": yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]})


@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed next to this Python")
def test_pages_read_the_execution_cache_of_the_build_that_runs_them(tmp_path):
    """Built with --path-output, the cache is the output's, not the repository's: the ledger
    and the misconceptions found none there and rendered a FileNotFoundError (the cold
    builds of `make bench` did). The extension names the build's cache for the kernels."""
    book = _one_page_book(tmp_path)
    (book / "page.md").write_text(PAGE.replace(
        'print("execution", uuid.uuid4().hex)',
        'import os\nprint("execution", uuid.uuid4().hex)\nprint("cache", os.environ["GRADBOOK_EXECUTION_CACHE"])'))
    out = tmp_path / "elsewhere"
    _jupyter_book(book, "--path-output", str(out))
    html = (out / "_build" / "html" / "page.html").read_text()
    assert f"cache {out.resolve() / '_build' / '.jupyter_cache'}" in html
    assert (out / "_build" / ".jupyter_cache").is_dir()


@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed next to this Python")
def test_a_page_whose_execution_fails_fails_the_build(tmp_path):
    """With the book's execute settings an error stops the build; MyST-NB's default is to
    warn and render the traceback into the page, which `make book` then published."""
    book = _one_page_book(tmp_path)
    (book / "_config.yml").write_text(CONFIG.replace("execute:\n  execute_notebooks: cache\n",
                                                     _repository_execute_settings()))
    (book / "page.md").write_text(PAGE.replace('print("execution", uuid.uuid4().hex)',
                                               'raise FileNotFoundError("no cache")'))
    build = _jupyter_book(book, check=False)
    assert build.returncode != 0
    assert "FileNotFoundError" in build.stdout + build.stderr
