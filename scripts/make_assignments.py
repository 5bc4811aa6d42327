"""Write the course's assignments: one Otter-Grader assignment per chapter.

    python scripts/make_assignments.py                 # every chapter -> _build/assignments/
    python scripts/make_assignments.py --only ch04     # one chapter
    GRADBOOK_GRADING_SEED=1234 python scripts/make_assignments.py   # the hidden inputs' seed

For each chapter this writes an Otter "master" notebook, ``OUT/chNN/master/chNN.ipynb``,
with every exercise of the chapter as a question, and runs ``otter assign`` on it, which
checks the solutions against the tests and writes

* ``OUT/chNN/student/chNN.ipynb``: what a student gets. Every exercise as Markdown with
  an answer cell (``# YOUR CODE HERE`` for a coding task, a Markdown cell for the
  others), and after each coding task a ``grader.check(...)`` cell that runs the visible
  check, the same feedback check the book uses (``gb.checks.check_...``). No solution.
* ``OUT/chNN/autograder/``: what only the instructor keeps: the notebook with the
  solutions and ``chNN-autograder_*.zip``, the autograder, which holds the hidden tests:
  the same checks run on fresh random inputs drawn from seeds that appear nowhere else
  (from ``GRADBOOK_GRADING_SEED``, or fresh random ones), and the reference answers the
  package does not ship (instructor/gradbook_references.py, an autograder-only file).

A submission is graded with Otter's own command, locally and without Docker:
``otter run -a OUT/chNN/autograder/chNN-autograder_*.zip -o RESULTS submission.ipynb``
(``make grade`` wraps it). The coding tasks are graded automatically: all of a task's
points come from the hidden tests, so passing the visible check alone earns nothing. The
other exercises are manually graded questions: Otter collects the answers and scores
them 0 until the instructor grades them.

Why Otter-Grader and not nbgrader: Otter's assignments are ordinary notebooks (no course
directory, database or Jupyter server extension), hidden tests are part of its format,
and ``otter run`` grades one submission on the instructor's machine without Docker.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml
from bookfiles import ROOT, chapters
from make_notebooks import code_cell as _code
from make_notebooks import colab_cell
from make_notebooks import markdown_cell as _md

OUT = ROOT / "_build" / "assignments"
#: The reference answers that only the autograder holds (the checks need them for their
#: random inputs; the installed package does not ship them).
REFERENCES = ROOT / "instructor" / "gradbook_references.py"

EXERCISE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{exercise\}[^\n]*\n(?P<body>.*?)\n(?P=fence)[ \t]*$", re.M | re.S)
SOLUTION = re.compile(r"^```\{solution-start\} (?P<label>[\w-]+)[^\n]*\n(?P<body>.*?)^```\{solution-end\}[^\n]*\n```",
                      re.M | re.S)
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
PYTHON_BLOCK = re.compile(r"^(?P<fence>```|~~~)python\n(?P<code>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
TRIPLE_DOUBLE, TRIPLE_SINGLE = '"' * 3, "'" * 3
CHECK_CALL = re.compile(r"gb\.checks\.(check_\w+)\((\w+)\)")


def _strip_options(body: str) -> str:
    """A directive's body without its leading ``:option: value`` lines (and the dropdown class)."""
    lines = body.split("\n")
    while lines and re.match(r"^:[\w-]+:", lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip("\n")


def _code_cell_source(code: str) -> str:
    """A MyST code cell's code without its ``:tags:`` line or ``---`` metadata block."""
    lines = code.split("\n")
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1:]
    while lines and re.match(r"^:[\w-]+:", lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip("\n")


def _bibliography() -> dict[str, str]:
    """Author-year text for every key of book/references.bib ("Pascanu et al. (2013)")."""
    text = (ROOT / "book" / "references.bib").read_text()
    entries = {}
    for match in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", text, re.S):
        key, fields = match.group(1).strip(), match.group(2)
        author = re.search(r"author\s*=\s*[{\"](.+?)[}\"],?\n", fields, re.S)
        year = re.search(r"year\s*=\s*[{\"]?(\d{4})", fields)
        names = [a.strip() for a in (author.group(1) if author else key).replace("\n", " ").split(" and ")]
        surnames = [n.split(",")[0].strip("{} ") if "," in n else n.split()[-1].strip("{} ") for n in names]
        who = surnames[0] + (" et al." if len(surnames) > 2 else f" and {surnames[1]}" if len(surnames) == 2 else "")
        entries[key] = f"{who} ({year.group(1) if year else 'n.d.'})"
    return entries


def plain(text: str, bib: dict[str, str]) -> str:
    """MyST roles in an exercise's text as plain notebook Markdown."""

    def label_words(label: str) -> str:
        return re.sub(r"^(fig|eq|sec|ex|tab)-ch\d\d-", "", label).replace("-", " ")

    def role(match: re.Match) -> str:
        name, content = match.group(1), match.group(2)
        shown = re.match(r"^(.*?)\s*<([^>]+)>$", content, re.S)
        text, target = (shown.group(1), shown.group(2)) if shown else (None, content)
        if name.startswith("cite"):
            return "; ".join(bib.get(k.strip(), k.strip()) for k in target.split(","))
        if name == "numref":
            return text or f"the chapter's figure *{label_words(target)}*"
        if name == "eq":
            return f"the chapter's equation *{label_words(target)}*"
        if name in ("ref", "doc"):
            return text or f"the section *{label_words(target)}*"
        if name == "term":
            return text or target
        if name == "math":
            return f"${content}$"
        return text or target

    return re.sub(r"\{([a-z:]+)\}`([^`]*)`", role, text)


def _raw(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(source)


def _quiet_check(check: str, fn: str, seed: int | None) -> str:
    """A test cell: the check prints its verdict, so it runs with its output captured and
    the verdict becomes the assertion's message (Otter compares a test's output)."""
    call = f"gb.checks.{check}({fn}" + (f", seed={seed})" if seed is not None else ")")
    return ("import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()) as _out:\n"
            f"    _ok = {call}\n"
            "assert _ok, _out.getvalue()")


def _setup_source(chapter_text: str) -> str:
    """The chapter's import cell, without what only the book's build needs (glue)."""
    first = CODE_CELL.search(chapter_text)
    lines = [line for line in _code_cell_source(first.group("code")).split("\n")
             if "myst_nb" not in line and "IPython.display" not in line]
    return "\n".join(lines)


def master_notebook(path: Path, seeds: list[int], run_tests: bool = True) -> tuple[nbformat.NotebookNode, dict]:
    """The Otter master notebook of one chapter, and a summary of its questions."""
    text = path.read_text()
    bib = _bibliography()
    title = re.search(r"^# (.+)$", text, re.M).group(1)
    number = int(path.stem[2:4])
    name = path.stem[:4]
    solutions = {m.group("label"): m.group("body") for m in SOLUTION.finditer(text)}
    cells = [
        _raw("# ASSIGNMENT CONFIG\n" + yaml.safe_dump({
            "name": name, "init_cell": False, "check_all_cell": False, "export_cell": False,
            "run_tests": run_tests, "solutions_pdf": False, "generate": True,
            # The reference answers the package does not ship, for the hidden tests only.
            "autograder_files": [REFERENCES.name],
        }, sort_keys=False).rstrip()),
        _md(f"# Assignment: chapter {number}, {title}\n\n"
            "Answer every exercise in the cell under it. A coding task has a cell to complete "
            "(`# YOUR CODE HERE`) and, under it, a check you may run as often as you like: it says "
            "whether your answer is right and, if not, what is wrong. Your submission is graded on "
            "other inputs, which you do not see, so make your function right, not the check pass. "
            "The other exercises are answered in words (and maths) in the Markdown cell under "
            "them and graded by your instructor."),
        colab_cell(),
        _code("# Otter-Grader runs the checks (installed with the book's requirements; in Colab, here).\n"
              "import importlib.util\n\n"
              'if importlib.util.find_spec("otter") is None:\n'
              f"    %pip install --quiet otter-grader=={_otter_pin()}\n"
              "import otter\n\n"
              f'grader = otter.Notebook("{name}.ipynb")'),
        _code(_setup_source(text)),
    ]
    summary = {"coding": [], "manual": []}
    for k, match in enumerate(EXERCISE.finditer(text), start=1):
        body = _strip_options(match.group("body"))
        label = re.search(r"^:label: ([\w-]+)", match.group("body"), re.M)
        label = label.group(1) if label else f"ex-{name}-{k}"
        qname = label.removeprefix("ex-").replace("-", "_")
        solution = _strip_options(solutions.get(label, ""))
        template = PYTHON_BLOCK.search(body)
        checks = CHECK_CALL.findall(template.group("code")) if template else []
        prompt = PYTHON_BLOCK.sub("", body) if checks else body
        prompt = plain(re.sub(r"\n{3,}", "\n\n", prompt).strip(), bib)
        if checks:
            starter = "\n".join(line for line in template.group("code").rstrip().split("\n")
                                if "gb.checks." not in line).rstrip()
            codes = [_code_cell_source(m.group("code")) for m in CODE_CELL.finditer(solution)]
            answer = next((c for c in codes if "gb.checks.check_" in c), None)
            if answer is None:
                raise ValueError(f"{path.name}: the solution of {label} has no cell that calls its check")
            answer = "\n".join(line for line in answer.split("\n") if "gb.checks." not in line).rstrip()
            points = 2 * len(checks)
            # The prompt sits in a string in the solution notebook: quote it with what it lacks.
            quote = TRIPLE_SINGLE if TRIPLE_DOUBLE in starter else TRIPLE_DOUBLE
            if quote in starter:
                raise ValueError(f"{path.name}: the template of {label} uses both kinds of triple quotes")
            cells += [
                _raw(f"# BEGIN QUESTION\nname: {qname}\npoints: {points}"),
                _md(f"**Exercise {number}.{k}** ({points} points, graded on hidden inputs)\n\n{prompt}"),
                _raw("# BEGIN SOLUTION"),
                _code(f"{quote} # BEGIN PROMPT\n# YOUR CODE HERE\n{starter}\n{quote} # END PROMPT\n"
                      "# BEGIN SOLUTION NO PROMPT\n" + answer + "\n# END SOLUTION"),
                _raw("# END SOLUTION"),
                _raw("# BEGIN TESTS"),
            ]
            for check, fn in checks:
                cells.append(_code('""" # BEGIN TEST CONFIG\npoints: 0\n""" # END TEST CONFIG\n'
                                   + _quiet_check(check, fn, None)))
                for seed in seeds:
                    cells.append(_code('""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
                                       + _quiet_check(check, fn, seed)))
            cells += [_raw("# END TESTS"), _raw("# END QUESTION")]
            summary["coding"].append((qname, [c for c, _ in checks], points))
        else:
            words = CODE_CELL.sub(lambda m: "```python\n" + _code_cell_source(m.group("code")) + "\n```",
                                  solution)
            cells += [
                _raw(f"# BEGIN QUESTION\nname: {qname}\nmanual: true\npoints: 1"),
                _md(f"**Exercise {number}.{k}** (1 point, graded by your instructor)\n\n{prompt}"),
                _raw("# BEGIN SOLUTION"),
                _md(plain(words, bib) or "*(no written solution)*"),
                _raw("# END SOLUTION"),
                _raw("# END QUESTION"),
            ]
            summary["manual"].append(qname)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{i}")  # the Colab cell comes without one
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb, summary


def _otter_pin() -> str:
    match = re.search(r"^otter-grader==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    if match is None:
        raise ValueError("requirements.txt pins no otter-grader")
    return match.group(1)


def grading_seeds() -> list[int]:
    """Two seeds for the hidden inputs: from GRADBOOK_GRADING_SEED, or fresh random ones."""
    base = os.environ.get("GRADBOOK_GRADING_SEED")
    if base is None:
        return [secrets.randbelow(2**31) for _ in range(2)]
    if not base.isdigit():
        raise SystemExit(f"GRADBOOK_GRADING_SEED must be a whole number, got {base!r}")
    return [int(base), int(base) + 1]


def otter_command() -> str:
    """The ``otter`` command of the environment this script runs in."""
    candidate = Path(sys.executable).parent / "otter"
    return str(candidate) if candidate.exists() else "otter"


def build(path: Path, out: Path, seeds: list[int], run_tests: bool = True) -> dict:
    name = path.stem[:4]
    target = out / name
    shutil.rmtree(target, ignore_errors=True)
    (target / "master").mkdir(parents=True)
    nb, summary = master_notebook(path, seeds, run_tests)
    master = target / "master" / f"{name}.ipynb"
    nbformat.write(nb, master)
    shutil.copy(REFERENCES, target / "master" / REFERENCES.name)
    done = subprocess.run([otter_command(), "assign", str(master), str(target)], capture_output=True, text=True,
                          cwd=target / "master")
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"otter assign failed for {path.name}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default _build/assignments)")
    parser.add_argument("--only", action="append", default=[], help="chapters such as ch04 (default: all)")
    parser.add_argument("--student", type=Path, metavar="DIR",
                        help="write only the student notebooks, to DIR (for the student edition)")
    args = parser.parse_args(argv)
    seeds = grading_seeds()
    paths = [p for p in chapters() if not args.only or p.stem[:4] in args.only]
    if not paths:
        raise SystemExit(f"no chapter matches {args.only}")
    if args.student:
        with tempfile.TemporaryDirectory() as scratch:
            for path in paths:
                build(path, Path(scratch), seeds, run_tests=False)
            shutil.rmtree(args.student, ignore_errors=True)
            args.student.mkdir(parents=True)
            for path in paths:
                name = path.stem[:4]
                shutil.copy(Path(scratch) / name / "student" / f"{name}.ipynb", args.student / f"{name}.ipynb")
        print(f"wrote {len(paths)} student assignment notebook(s) to {args.student}")
        return 0
    for path in paths:
        summary = build(path, args.out, seeds)
        coding = ", ".join(q for q, _, _ in summary["coding"])
        print(f"{path.stem[:4]}: {len(summary['coding'])} autograded ({coding}), "
              f"{len(summary['manual'])} manually graded")
    print(f"wrote {len(paths)} assignment(s) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
