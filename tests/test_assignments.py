"""The autograded assignments work end to end with Otter-Grader's own commands.

`scripts/make_assignments.py` builds one chapter's assignment; the student notebook has
an answer cell for every exercise and neither solutions nor the hidden tests' seeds; and
`otter run` (no Docker) gives the book's own solution full marks and wrong answers none,
including one that passes the visible check by recognising its inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_assignments  # noqa: E402  (scripts/: the assignment builder)

CHAPTER = "ch08"
SEED = 913_417  # the hidden inputs' seed for this test; it must not reach the student


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    old = os.environ.get("GRADBOOK_GRADING_SEED")
    os.environ["GRADBOOK_GRADING_SEED"] = str(SEED)
    try:
        assert make_assignments.main(["--out", str(out), "--only", CHAPTER]) == 0
    finally:
        if old is None:
            del os.environ["GRADBOOK_GRADING_SEED"]
        else:
            os.environ["GRADBOOK_GRADING_SEED"] = old
    return out / CHAPTER


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _grade(built: Path, submission: Path, tmp_path: Path) -> float:
    (zipfile,) = (built / "autograder").glob(f"{CHAPTER}-autograder_*.zip")
    out = tmp_path / submission.stem
    out.mkdir()
    done = subprocess.run([make_assignments.otter_command(), "run", "-a", str(zipfile), "-o", str(out),
                           str(submission)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    scored = [t for t in results["tests"] if "max_score" in t]
    return sum(t["score"] for t in scored) / sum(t["max_score"] for t in scored)


def _with_answer(built: Path, tmp_path: Path, name: str, code: str) -> Path:
    nb = json.loads((built / "student" / f"{CHAPTER}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "otter_answer_cell" in cell["metadata"].get("tags", []):
            cell["source"] = code
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_every_exercise_has_an_answer_cell_and_no_solution(built):
    chapter = next(ROOT.glob(f"book/{CHAPTER}_*.md")).read_text()
    exercises = len(make_assignments.EXERCISE.findall(chapter))
    student = _cells(built / "student" / f"{CHAPTER}.ipynb")
    answers = [c for c in student if "otter_answer_cell" in c["metadata"].get("tags", [])]
    assert len(answers) == exercises
    coding = [c for c in answers if c["cell_type"] == "code"]
    assert coding and all("# YOUR CODE HERE" in _source(c) for c in coding)
    assert any('grader.check("' in _source(c) for c in student)
    text = json.dumps(json.loads((built / "student" / f"{CHAPTER}.ipynb").read_text()))
    assert str(SEED) not in text and str(SEED + 1) not in text  # the hidden tests stay hidden
    solved = _cells(built / "autograder" / f"{CHAPTER}.ipynb")
    solution_lines = {line.strip() for c in solved if "otter_answer_cell" in c["metadata"].get("tags", [])
                      for line in _source(c).splitlines() if len(line.strip()) > 25}
    assert solution_lines, "the solution notebook should hold the solutions"
    leaked = [line for line in solution_lines if line in text
              and not any(part in line for part in ("YOUR CODE", "def ", "Type your answer here"))]
    assert not leaked, leaked


def test_the_books_solution_gets_full_marks(built, tmp_path):
    assert _grade(built, built / "autograder" / f"{CHAPTER}.ipynb", tmp_path) == 1.0


def test_a_wrong_answer_gets_nothing(built, tmp_path):
    wrong = _with_answer(built, tmp_path, "by_value", "def my_clip_by_norm(grads, max_norm):\n"
                         "    return [g.clamp(-max_norm, max_norm) for g in grads]\n")
    assert _grade(built, wrong, tmp_path) == 0.0


def test_an_answer_that_only_passes_the_visible_check_gets_nothing(built, tmp_path):
    # Right on the visible check's fixed inputs (recognised by their sizes), wrong elsewhere:
    # the visible check cannot tell, the hidden inputs can.
    code = ("def my_clip_by_norm(grads, max_norm):\n"
            "    if len(grads) in (1, 2, 4) and max_norm in (1.0, 5.0, 0.25, 2.0):\n"
            "        import math\n"
            "        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))\n"
            "        s = max_norm / norm if norm > max_norm else 1.0\n"
            "        return [g * s for g in grads]\n"
            "    return [g.clone() for g in grads]\n")
    import gradbook as gb

    namespace: dict = {}
    exec(code, namespace)
    assert gb.checks.check_clip_by_norm(namespace["my_clip_by_norm"])  # fools the visible check
    gamed = _with_answer(built, tmp_path, "gamed", code)
    assert _grade(built, gamed, tmp_path) == 0.0


def test_hidden_tests_use_references_only_the_autograder_holds(tmp_path):
    # Chapter 4's reference is the exercise's answer, so the package ships only the expected
    # answers of the documented inputs; the hidden tests' random inputs need
    # instructor/gradbook_references.py, an autograder-only file.
    out = tmp_path / "built"
    assert make_assignments.main(["--out", str(out), "--only", "ch04"]) == 0
    assert sorted(p.name for p in (out / "ch04" / "student").iterdir()) == ["ch04.ipynb"]
    assert "gradbook_references" not in (out / "ch04" / "student" / "ch04.ipynb").read_text()
    (zipfile,) = (out / "ch04" / "autograder").glob("ch04-autograder_*.zip")
    import zipfile as zf

    assert "files/gradbook_references.py" in zf.ZipFile(zipfile).namelist()
    results = tmp_path / "results"
    results.mkdir()
    done = subprocess.run([make_assignments.otter_command(), "run", "-a", str(zipfile), "-o", str(results),
                           str(out / "ch04" / "autograder" / "ch04.ipynb")], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = json.loads((results / "results.json").read_text())["tests"]
    scored = [t for t in tests if "max_score" in t]
    assert sum(t["score"] for t in scored) == sum(t["max_score"] for t in scored) > 0
