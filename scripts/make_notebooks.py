"""Write the launch notebooks: an output-free .ipynb twin of every chapter in notebooks/.

    python scripts/make_notebooks.py            # (re)write notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if any twin is missing or stale
    python scripts/make_notebooks.py --student DIR   # student copies without solutions

Binder and Colab open these twins (Colab cannot open MyST Markdown). Each twin starts
with one extra cell that installs the book's package when it runs in Colab, at the
release that `gradbook_release` in _config.yml names (a tag or a commit of the
repository at `repository.url`, the book's one repository setting), and warns if
Colab's torch differs from the release requirements-reader.txt pins.

Why not jupytext's pairing (``formats: md:myst,ipynb``)? A paired notebook holds exactly
the cells of its Markdown twin, and a sync copies cells both ways, so the Colab set-up
cell, which belongs in the launch notebook only, would be copied into the chapter (and
run by the build). This script uses jupytext's reader instead and adds the cell to the
notebook alone.

With --student DIR it writes the student edition instead: DIR/notebooks/ holds every
chapter as a notebook without the exercise solutions (everything between a
`solution-start` and its `solution-end`), and DIR/src/ a copy of the book's source with
the same solutions left out, without the instructors' page, with those notebooks as its
launch notebooks, and with its launch links pointing at `gradbook_student_repository`
(in _config.yml; none if it is empty), which `make student` builds into HTML.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from bookfiles import ROOT, chapters

OUT = ROOT / "notebooks"


def _pin(name: str) -> str:
    """The version requirements-reader.txt pins for ``name``."""
    text = (ROOT / "requirements-reader.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.M)
    if match is None:
        raise ValueError(f"requirements-reader.txt pins no {name}")
    return match.group(1)


def colab_cell() -> nbformat.NotebookNode:
    """The set-up cell of a launch notebook: in Colab only, install the book's package at
    the pinned release (``gradbook_release`` in _config.yml) and warn if Colab's torch is
    not the release the book was checked with."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    release = config["sphinx"]["config"]["gradbook_release"]
    if not release or release == config["repository"].get("branch", "main"):
        raise ValueError("gradbook_release in _config.yml must name a tag or a commit, not a branch")
    torch_pin, myst_nb_pin = _pin("torch"), _pin("myst-nb")
    source = (
        "# In Colab, install the book's package first (Binder and local set-ups have it).\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet myst-nb=={myst_nb_pin} "gradbook @ git+{url}@{release}"\n'
        "    import torch\n\n"
        f'    if torch.__version__.split("+")[0] != "{torch_pin}":\n'
        f'        print(f"Warning: this book was checked with torch {torch_pin}; Colab has "\n'
        '              f"{torch.__version__}. The chapters should run, but a number may differ "\n'
        '              "from the one printed on the page.")'
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["colab-setup"]
    cell.pop("id", None)
    return cell


SOLUTION = re.compile(r"^```\{solution-start\}.*?^```\{solution-end\}[^\n]*\n```[ \t]*$", re.M | re.S)
LEFT_OUT = "*(The solution is left out of the student edition.)*"


def without_solutions(text: str) -> str:
    """A chapter's MyST source with every gated solution replaced by a short note."""
    return SOLUTION.sub(LEFT_OUT, text)


def twin(path: Path, student: bool = False) -> nbformat.NotebookNode:
    text = path.read_text()
    nb = jupytext.reads(without_solutions(text) if student else text, fmt="md:myst")
    cells = []
    for cell in nb.cells:
        cell.pop("id", None)
        cells.append(cell)
    # The set-up cell goes right after the title cell.
    at = 1 if cells and cells[0].cell_type == "markdown" else 0
    nb.cells = [*cells[:at], colab_cell(), *cells[at:]]
    nb.metadata.pop("jupytext", None)
    return nb


INSTRUCTORS = "book/instructors"


def _without_page(entry, page: str):
    """A table-of-contents entry with every ``file: page`` left out, recursively."""
    if isinstance(entry, dict):
        return {key: ([_without_page(e, page) for e in value if not (isinstance(e, dict) and e.get("file") == page)]
                      if isinstance(value, list) else _without_page(value, page))
                for key, value in entry.items()}
    return entry


def student_config(config: dict) -> dict:
    """The student edition's _config.yml: its launch and repository links point at the
    repository the instructor names (``gradbook_student_repository``), which holds the
    student notebooks; with none named, the edition has no launch or repository links."""
    config = yaml.safe_load(yaml.safe_dump(config))  # a deep copy
    repository = config["sphinx"]["config"].get("gradbook_student_repository", "")
    if repository:
        config["repository"]["url"] = repository
    else:
        config["html"].update(use_repository_button=False, use_issues_button=False, use_edit_page_button=False)
        config.pop("launch_buttons", None)
        config["repository"]["url"] = ""
    return config


def student_edition(out: Path) -> None:
    """Write the student notebooks and a solution-free copy of the book's source: no
    solution, no instructors' page, and launch links only to the instructor's repository."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "notebooks").mkdir(parents=True)
    for path in chapters():
        (out / "notebooks" / f"{path.stem}.ipynb").write_text(render(twin(path, student=True)))
    src = out / "src"
    keep = ["_toc.yml", "book", "_ext", "scripts", "benchmarks/results.json"]
    for name in keep:
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, target)
    (src / "_vendor").symlink_to(ROOT / "_vendor", target_is_directory=True)
    # The notebooks that Binder and Colab open are the student twins, not the full ones.
    shutil.copytree(out / "notebooks", src / "notebooks")
    for path in chapters():
        target = src / path.relative_to(ROOT)
        target.write_text(without_solutions(path.read_text()))
    (src / f"{INSTRUCTORS}.md").unlink()
    toc = _without_page(yaml.safe_load((ROOT / "_toc.yml").read_text()), INSTRUCTORS)
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    config = student_config(yaml.safe_load((ROOT / "_config.yml").read_text()))
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


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
        student_edition(args.student)
        print(f"wrote the student edition (no solutions) to {args.student}: notebooks/ and src/")
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
