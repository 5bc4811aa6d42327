"""Fail if a code line of a page's code cells is wider than the page column (88 characters).

    python scripts/check_code_width.py            # every page of the book (book/*.md)

Code wider than the column scrolls sideways on the page and is cut off in the PDF. Only
the code of ```{code-cell} blocks counts: not the fence, not the cell's options (':tags:'
lines or the YAML block between '---' lines right after the fence), not the prose. Run
by `make lint`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 88


def wide_lines(text: str, width: int = WIDTH) -> list[tuple[int, str]]:
    """(line number, line) of every code-cell code line longer than ``width``."""
    found, in_cell, options, first = [], False, False, False
    for number, line in enumerate(text.splitlines(), start=1):
        if not in_cell:
            if line.startswith("```{code-cell}"):
                in_cell, options, first = True, False, True
            continue
        if line.startswith("```"):
            in_cell = False
            continue
        if first and line == "---":  # a YAML block of options opens
            options, first = True, False
            continue
        if options:
            options = line != "---"
            continue
        if first and line.startswith(":"):  # an option line such as ':tags: [...]'
            continue
        first = False
        if len(line) > width:
            found.append((number, line))
    return found


def main() -> int:
    bad = 0
    for page in sorted((ROOT / "book").glob("*.md")):
        for number, line in wide_lines(page.read_text()):
            bad += 1
            print(f"{page.relative_to(ROOT)}:{number}: {len(line)} characters (at most {WIDTH}): "
                  f"{line.strip()[:60]}...")
    if bad:
        print(f"{bad} code line(s) wider than the {WIDTH}-character page column")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
