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

The Markdown is rendered, so that a twin reads like the page (scripts/render_markdown.py
does the rendering; its docstring lists what becomes of each role and directive): every
glued number is the value the book's build computed, formatted as the page formats it;
citations, figure, equation and exercise numbers, section and page titles are text
linked to the online book (``gradbook_site_url`` in _config.yml). So the twins need the
build: the executed chapters in its execution cache (``_build/.jupyter_cache``, matched
to each chapter's current source) and the built HTML (``_build/html``, which holds the
numbers Sphinx gave). If either is missing or a chapter was changed since the build, the
script stops and says to run `make book`, which builds the book and then writes the
twins; it never writes a twin with raw roles. Code cells stay as they are (running them
recomputes every value); a figure cell is followed by a Markdown cell with its number
and caption; cells tagged remove-cell stay (later cells use what they compute) with
their source and output collapsed (``jupyter.source_hidden`` / ``outputs_hidden``).

Exercises become a heading ("### Exercise 3.2") with the exercise's text, the
exercise's code template as a code cell for the reader to complete (tag
``exercise-answer``) and its ``gb.checks.check_...(...)`` call as a code cell of its own
(tag ``exercise-check``); an exercise without a template gets a Markdown cell
"*Your answer:*" instead.

Solutions (full edition) are one collapsed Markdown cell each (tag ``solution``),
``<details><summary>Solution</summary>...</details>``, with the solution's text, its
code as fenced code (not run) and, below the code, the output the build printed for it.
Why not the solution's own code cells, tagged ``solution`` and hidden with
``jupyter.source_hidden``? (1) A solution defines the same names as the reader's answer
(``my_clip_by_norm`` ...): as code cells, "Run all" would run the book's solution right
after the reader's answer, and from then on the name would be the book's function: a
check run again would pass on the book's code, not the reader's. Inside <details>
nothing runs unless the reader copies it. (2) Collapsed Markdown is
honoured by every front end the book sends readers to (Jupyter, Colab, GitHub's
viewer); ``source_hidden`` is a JupyterLab setting that Colab ignores, so the solutions
would lie open there. (3) Nothing is lost: every solution output is printed text, shown
inside the block from the build's execution. A solution output that Markdown cannot
hold (an image) stops the script with a message, so that the choice is revisited
rather than an output silently dropped. In the student edition the solutions are left
out entirely, and the references are text without links: the public site they would
point at shows the solutions.
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from bookfiles import ROOT, chapters
from render_markdown import (
    Build,
    Context,
    Directive,
    Fence,
    RenderError,
    blocks,
    details,
    fenced,
    load_build,
    numbered,
    render_blocks,
    render_inline,
    stale_numbers,
)

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


def site_url() -> str:
    """The online book's base URL, ``gradbook_site_url`` in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["sphinx"]["config"].get("gradbook_site_url", "")
    if not url.startswith(("https://", "http://")):
        raise ValueError("gradbook_site_url in _config.yml must be the online book's URL (https://...)")
    return url.rstrip("/")


@functools.cache
def build() -> Build:
    """What the book's build computed for every chapter (read once)."""
    return load_build(ROOT, chapters(), site_url())


CHECK = re.compile(r"^(assert\s+)?gb\.checks\.\w+\(")
PYTHON = {"python", "python3", "py", "ipython", "ipython3"}


def markdown_cell(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    cell.pop("id", None)
    return cell


def code_cell(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    cell.pop("id", None)
    return cell


def split_checks(template: str) -> tuple[str, str]:
    """An exercise's code template as (the code the reader completes, the check calls)."""
    code, checks, lines = [], [], template.split("\n")
    i = 0
    while i < len(lines):
        if CHECK.match(lines[i]):
            call = [lines[i]]
            while call[-1].count("(") + sum(c.count("(") for c in call[:-1]) > sum(c.count(")") for c in call) \
                    and i + 1 < len(lines):
                i += 1
                call.append(lines[i])
            checks += call
        else:
            code.append(lines[i])
        i += 1
    return "\n".join(code).strip("\n"), "\n".join(checks).strip("\n")


def exercise_cells(exercise: Directive, ctx: Context) -> list[nbformat.NotebookNode]:
    """An exercise as a heading with its text, its template as a code cell for the reader
    and its check as a code cell of its own; "*Your answer:*" if it has no template."""
    label = exercise.options.get("label")
    word, number = numbered(ctx.target(label, "exercise").number) if label else ("Exercise", "")
    heading = f"### {word} {number}".rstrip()
    if exercise.argument:
        heading += f" ({render_inline(exercise.argument, ctx)})"
    cells, text, has_code = [], [heading], False

    def flush():
        body = render_blocks(text, ctx)
        if body:
            cells.append(markdown_cell(body))
        text.clear()

    for block in blocks(exercise.body):
        if isinstance(block, Fence) and block.info.split(" ")[0] in PYTHON:
            flush()
            template, checks = split_checks(block.body)
            if template:
                cells.append(code_cell(template, ["exercise-answer"]))
            if checks:
                cells.append(code_cell(checks, ["exercise-check"]))
            has_code = True
        else:
            text.append(block)
    flush()
    if not has_code:
        cells.append(markdown_cell("*Your answer:*", ["exercise-answer"]))
    return cells


def output_text(outputs: list, where: str) -> str:
    """The printed text of a solution cell's outputs (glue records left out)."""
    text = []
    for output in outputs:
        if "scrapbook" in output.get("metadata", {}):
            continue
        kind = output.get("output_type")
        data = output.get("data", {})
        if kind == "stream":
            text.append(output.get("text", ""))
        elif kind == "error":
            text.append(f"{output.get('ename')}: {output.get('evalue')}\n")
        elif set(data) <= {"text/plain"}:
            text.append(data.get("text/plain", "") + "\n")
        else:
            raise RenderError(f"{where}: a solution cell has a {sorted(data)} output, which the collapsed "
                              "Markdown solution cannot hold (see the docstring of scripts/make_notebooks.py)")
    return "".join(text)


def solution_cell(parts: list, ctx: Context) -> nbformat.NotebookNode:
    """A solution as one collapsed Markdown cell: its text, its code as fenced code (not
    run) and the text that code printed in the build."""
    body = []
    for part in parts:
        if isinstance(part, tuple):
            cell, outputs = part
            tags = cell.metadata.get("tags", [])
            if "remove-cell" in tags:
                continue
            if "remove-input" not in tags:
                body.append(fenced(cell.source, "python"))
            printed = "" if "remove-output" in tags else output_text(outputs, ctx.page)
            if printed.strip():
                body.append("*Output:*\n\n" + fenced(printed.rstrip("\n"), "text"))
        else:
            rendered = render_blocks([part], ctx)
            if rendered:
                body.append(rendered)
    return markdown_cell(details("Solution", "\n\n".join(body)), ["solution"])


def figure_caption(cell: nbformat.NotebookNode, ctx: Context) -> str:
    """The number and caption that the page shows under a figure cell's output."""
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    if not figure.get("caption"):
        return ""
    caption = render_inline(str(figure["caption"]).strip(), ctx)
    if figure.get("name"):
        word, number = numbered(ctx.target(figure["name"], "numref").number)
        return f"**{word} {number}.** {caption}"
    return f"*{caption}*"


def shown(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A chapter's code cell as the twin holds it: the same code; a cell that the page
    does not show (remove-cell) collapsed."""
    cell.pop("id", None)
    tags = cell.metadata.get("tags", [])
    if "remove-cell" in tags:
        cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
    elif "remove-input" in tags:
        cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def render_cells(cells: list, ctx: Context, executed: list | None) -> list[nbformat.NotebookNode]:
    """A chapter's cells (jupytext's reading of its MyST source) with the Markdown
    rendered, the exercises as headed cells and each solution as one collapsed cell.
    ``executed``: the code cells of the build's execution, one per code cell of
    ``cells`` (None for the student edition, which has no solutions)."""
    out: list[nbformat.NotebookNode] = []
    solution: list | None = None  # the parts of the solution being read
    code_index = -1
    pending: list = []  # blocks of the Markdown cell being written

    def flush():
        text = render_blocks(pending, ctx)
        if text:
            out.append(markdown_cell(text))
        pending.clear()

    for cell in cells:
        if cell.cell_type == "code":
            code_index += 1
            outputs = []
            if executed is not None:
                if code_index >= len(executed) or executed[code_index].source.strip() != cell.source.strip():
                    raise RenderError(f"{ctx.page}: the build's execution does not match the chapter's code "
                                      "cells: run `make book` first")
                outputs = executed[code_index].get("outputs", [])
            if solution is not None:
                solution.append((cell, outputs))
                continue
            out.append(shown(cell))
            caption = figure_caption(cell, ctx)
            if caption:
                out.append(markdown_cell(caption))
            continue
        if cell.cell_type != "markdown":
            cell.pop("id", None)
            out.append(cell)
            continue
        for block in blocks(cell.source):
            name = block.name if isinstance(block, Directive) else None
            if name == "solution-start":
                flush()
                solution = []
            elif name == "solution-end":
                if solution is None:
                    raise RenderError(f"{ctx.page}: a solution-end without its solution-start")
                out.append(solution_cell(solution, ctx))
                solution = None
            elif solution is not None:
                solution.append(block)
            elif name == "exercise":
                flush()
                out.extend(exercise_cells(block, ctx))
            else:
                pending.append(block)
        flush()
    if solution is not None:
        raise RenderError(f"{ctx.page}: a solution-start without its solution-end")
    return out


def twin(path: Path, student: bool = False, book: Build | None = None) -> nbformat.NotebookNode:
    """The launch notebook of one chapter, rendered with what the book's build computed."""
    book = book or build()
    ctx = book.context(path, ROOT, links=not student)
    text = path.read_text()
    wrong = stale_numbers(text, book.targets)
    if wrong:
        raise RenderError(f"{ctx.page}: the built HTML numbers the chapter as it was before an edit "
                          f"({'; '.join(wrong[:3])}): run `make book` first")
    nb = jupytext.reads(without_solutions(text) if student else text, fmt="md:myst")
    executed = None if student else [c for c in book.executed[path].cells if c.cell_type == "code"]
    cells = render_cells(nb.cells, ctx, executed)
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
    student notebooks; with none named, the edition has no launch or repository links;
    and it links no PDF."""
    config = yaml.safe_load(yaml.safe_dump(config))  # a deep copy
    repository = config["sphinx"]["config"].get("gradbook_student_repository", "")
    if repository:
        config["repository"]["url"] = repository
    else:
        config["html"].update(use_repository_button=False, use_issues_button=False, use_edit_page_button=False)
        config.pop("launch_buttons", None)
        config["repository"]["url"] = ""
    # The PDF edition is built from the full book (it has the instructors' page), so the
    # student edition's download menu offers no PDF.
    config["sphinx"]["config"]["gradbook_pdf_link"] = False
    return config


def student_edition(out: Path) -> None:
    """Write the student notebooks and a solution-free copy of the book's source: no
    solution, no instructors' page, and launch links only to the instructor's repository."""
    texts = {path.stem: render(twin(path, student=True)) for path in chapters()}  # may fail: before rmtree
    shutil.rmtree(out, ignore_errors=True)
    (out / "notebooks").mkdir(parents=True)
    for stem, text in texts.items():
        (out / "notebooks" / f"{stem}.ipynb").write_text(text)
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
    try:
        if args.student:
            student_edition(args.student)
            print(f"wrote the student edition (no solutions) to {args.student}: notebooks/ and src/")
            return 0
        # Every twin is rendered before any is written: a failure leaves notebooks/ as it was.
        texts = {OUT / f"{path.stem}.ipynb": render(twin(path)) for path in chapters()}
    except RenderError as error:
        print(f"make_notebooks: {error}", file=sys.stderr)
        return 1
    stale = []
    OUT.mkdir(exist_ok=True)
    for target, text in texts.items():
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
