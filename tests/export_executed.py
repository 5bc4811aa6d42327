"""Export the notebooks exactly as the book's build executed them, for nbval to re-run.

The build executes every page through jupyter-cache (`_build/.jupyter_cache`) and keeps
the complete outputs there; the copies in `_build/jupyter_execute` have myst-nb's glue
records removed, and the glued numbers are the outputs that matter most. This script
asks the cache for the record that matches each page's *current* source and writes it to
`_build/nbval/<page>.ipynb`. It fails if a page in the table of contents that runs code
has no up-to-date executed record (the book was not built since it changed).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bookfiles  # noqa: E402  (scripts/: the one reader of _toc.yml)

OUT = ROOT / "_build" / "nbval"
EXECUTED = ROOT / "_build" / "jupyter_execute"
FORCED = re.compile(r"^\s*execution_mode:\s*force\s*$", re.M)


def main() -> int:
    pages = [ROOT / f"{f}.md" for f in bookfiles.pages()]
    pages = [p for p in pages if "{code-cell}" in p.read_text()]
    if not bookfiles.CACHE.exists():
        print(f"no execution cache at {bookfiles.CACHE}: build the book first (make book)")
        return 1
    cached = bookfiles.executed(pages)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    missing = []
    for page in pages:
        if page in cached:
            nb = cached[page]
        elif FORCED.search(page.read_text()) and (EXECUTED / page.relative_to(ROOT)).with_suffix(".ipynb").exists():
            # A page executed afresh on every build (execution_mode: force) is not cached;
            # the build's own copy is complete, as such pages glue nothing.
            nb = nbformat.read((EXECUTED / page.relative_to(ROOT)).with_suffix(".ipynb"), as_version=4)
        else:
            missing.append(page.relative_to(ROOT).as_posix())
            continue
        nbformat.write(nb, OUT / f"{page.stem}.ipynb")
    if missing:
        print(f"not executed since they last changed: {missing}; build the book first (make book)")
        return 1
    print(f"exported {len(pages)} executed notebooks to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
