"""Which files are the book's pages and chapters: the one reader of _toc.yml.

Shared by the notebook, benchmark and robustness scripts and by the tests
(``tests/export_executed.py``, ``tests/test_browser.py``), so the table of contents is
parsed in one place, as YAML.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = re.compile(r"ch\d\d_\w+")


def _files(entry) -> list[str]:
    """Every ``file`` (and the ``root``) named in a table-of-contents entry, depth first, in order."""
    found = []
    if isinstance(entry, dict):
        for key in ("root", "file"):
            if key in entry:
                found.append(str(entry[key]))
        for key in ("parts", "chapters", "sections"):
            for child in entry.get(key, []) or []:
                found += _files(child)
    return found


def pages(toc: Path | None = None) -> list[str]:
    """Every page of the book in reading order, as paths without suffix (``book/index``, ...)."""
    data = yaml.safe_load((toc or ROOT / "_toc.yml").read_text())
    if not isinstance(data, dict) or "root" not in data:
        raise ValueError("_toc.yml must be a Jupyter Book table of contents with a root page")
    return _files(data)


def chapters(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks named in ``root``'s _toc.yml (``book/chNN_*.md``), in book order."""
    paths = [root / f"{f}.md" for f in pages(root / "_toc.yml")]
    return [p for p in paths if CHAPTER.fullmatch(p.stem) and p.exists()]


#: The book's execution cache: the running build's (the book's Sphinx extension names it
#: in GRADBOOK_EXECUTION_CACHE for the kernels it starts, so a build with --path-output
#: reads its own), otherwise the repository's.
CACHE = Path(os.environ.get("GRADBOOK_EXECUTION_CACHE") or ROOT / "_build" / ".jupyter_cache")


def executed(paths: list[Path], cache_path: Path = CACHE) -> dict:
    """The pages of ``paths`` that the book's build executed: ``{path: notebook}``.

    Each page's record in the execution cache (``_build/.jupyter_cache``) is matched to
    the page's *current* source, so a page edited since the build is left out rather than
    handing back old outputs; the caller decides what a missing page means.
    """
    if not cache_path.exists():
        return {}
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    projects = {Path(r.uri).resolve(): r for r in cache.list_project_records()}
    found = {}
    for page in paths:
        record = projects.get(Path(page).resolve())
        cached = cache.get_cached_project_nb(record.pk) if record else None
        if cached is not None:
            found[page] = cache.get_cache_bundle(cached.pk).nb
    return found
