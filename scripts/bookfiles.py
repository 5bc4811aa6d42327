"""Which files are the book's pages and chapters: the one reader of _toc.yml.

Shared by the notebook, benchmark and robustness scripts and by the tests
(``tests/export_executed.py``, ``tests/test_browser.py``), so the table of contents is
parsed in one place, as YAML.
"""

from __future__ import annotations

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


def chapters() -> list[Path]:
    """The chapter notebooks named in _toc.yml (``book/chNN_*.md``), in book order."""
    paths = [ROOT / f"{f}.md" for f in pages()]
    return [p for p in paths if CHAPTER.fullmatch(p.stem) and p.exists()]
