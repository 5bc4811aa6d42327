"""Which files are the book's chapters: shared by the notebook, benchmark and robustness scripts."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = re.compile(r"ch\d\d_\w+")


def chapters() -> list[Path]:
    """The chapter notebooks named in _toc.yml (``book/chNN_*.md``), in book order."""
    toc = (ROOT / "_toc.yml").read_text()
    paths = [ROOT / f"{f}.md" for f in re.findall(r"file:\s*(\S+)", toc)]
    return [p for p in paths if CHAPTER.fullmatch(p.stem) and p.exists()]
