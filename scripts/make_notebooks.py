"""Write the launch notebooks: an output-free .ipynb twin of every chapter in notebooks/.

    python scripts/make_notebooks.py            # (re)write notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if any twin is missing or stale
    python scripts/make_notebooks.py --student DIR   # student copies without solutions

Binder and Colab open these twins (Colab cannot open MyST Markdown). Each twin starts
with one extra cell that installs the book's package when it runs in Colab; the
repository URL in it comes from `repository.url` in _config.yml, the book's one
repository setting. The student copies leave out every exercise solution (the cells
between `solution-start` and `solution-end`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from bookfiles import ROOT, chapters

OUT = ROOT / "notebooks"


def colab_cell() -> nbformat.NotebookNode:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    branch = config["repository"].get("branch", "main")
    source = (
        "# In Colab, install the book's package first (Binder and local set-ups have it).\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet myst-nb "gradbook @ git+{url}@{branch}"'
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["colab-setup"]
    cell.pop("id", None)
    return cell


def twin(path: Path, student: bool = False) -> nbformat.NotebookNode:
    nb = jupytext.read(path)
    cells = []
    in_solution = False
    for cell in nb.cells:
        text = cell.source
        if student and cell.cell_type == "markdown" and "{solution-start}" in text:
            in_solution = True
            cells.append(nbformat.v4.new_markdown_cell("*(The solution is left out of the student copy.)*"))
            continue
        if in_solution:
            in_solution = "{solution-end}" not in text
            continue
        cell.pop("id", None)
        cells.append(cell)
    # The set-up cell goes right after the title cell.
    at = 1 if cells and cells[0].cell_type == "markdown" else 0
    nb.cells = [*cells[:at], colab_cell(), *cells[at:]]
    nb.metadata.pop("jupytext", None)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    # Cell ids are random; leave them out so the twins are reproducible byte for byte.
    nb = nbformat.from_dict(nb)
    nb.nbformat, nb.nbformat_minor = 4, 4
    for cell in nb.cells:
        cell.pop("id", None)
    return nbformat.writes(nb, version=4) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if a twin is missing or stale")
    parser.add_argument("--student", type=Path, help="write student copies without solutions here")
    args = parser.parse_args()
    if args.student:
        args.student.mkdir(parents=True, exist_ok=True)
        for path in chapters():
            (args.student / f"{path.stem}.ipynb").write_text(render(twin(path, student=True)))
        print(f"wrote {len(chapters())} student notebooks without solutions to {args.student}")
        return 0
    stale = []
    OUT.mkdir(exist_ok=True)
    for path in chapters():
        target = OUT / f"{path.stem}.ipynb"
        text = render(twin(path))
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.relative_to(ROOT))
        else:
            target.write_text(text)
    expected = {f"{p.stem}.ipynb" for p in chapters()}
    extra = sorted(p.name for p in OUT.glob("*.ipynb") if p.name not in expected)
    if args.check:
        if stale or extra:
            print(f"stale or missing: {[str(s) for s in stale]}; not a chapter: {extra}. Run `make notebooks`.")
            return 1
        print(f"{len(expected)} launch notebooks are up to date")
        return 0
    for name in extra:
        (OUT / name).unlink()
    print(f"wrote {len(expected)} launch notebooks to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
