"""The student edition leaks nothing: no solution in any file that `make student` writes.

Needs `make student` first (and, for the check that the detector works, `make book`).
A solution is recognised by its distinctive lines: lines of a solution block that occur
nowhere else in the book's sources, not even as part of a longer line. Every text file
under `_build/student` (HTML with its tags stripped, notebooks, sources, the search
index) is searched for them.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bookfiles  # noqa: E402  (scripts/: the one reader of _toc.yml)
import make_notebooks  # noqa: E402

STUDENT = ROOT / "_build" / "student"
FULL_HTML = ROOT / "_build" / "html"
TEXT_SUFFIXES = {".html", ".ipynb", ".md", ".js", ".txt", ".json", ".yml"}

pytestmark = pytest.mark.skipif(not STUDENT.exists(), reason="run `make student` first")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _solution_lines() -> set[str]:
    """Lines of the solutions that occur nowhere else in the book: a leak's fingerprint."""
    inside, outside = [], []
    for path in bookfiles.chapters():
        text = path.read_text()
        blocks = make_notebooks.SOLUTION.findall(text)
        inside += [line for block in blocks for line in block.splitlines()]
        outside += make_notebooks.SOLUTION.sub("", text).splitlines()
    others = _normal("\n".join(outside))  # a line that also occurs there is no fingerprint
    found = {_normal(line) for line in inside}
    return {line for line in found if len(line) >= 30 and line not in others
            and not line.startswith(("```", ":class:", "assert gb.checks"))}


def _readable(path: Path) -> str:
    text = path.read_text(errors="ignore")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    elif path.suffix == ".ipynb":
        nb = json.loads(text)
        text = "\n".join("".join(c.get("source", "")) for c in nb.get("cells", []))
    return _normal(text)


def _leaks(folder: Path, lines: set[str]) -> dict[str, list[str]]:
    leaks = {}
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES and ".jupyter_cache" not in path.parts:
            text = _readable(path)
            hit = [line for line in lines if line in text]
            if hit:
                leaks[str(path.relative_to(folder))] = hit[:3]
    return leaks


def test_the_detector_finds_the_solutions_in_the_full_edition():
    """Without this, a detector that matched nothing would pass the next test."""
    lines = _solution_lines()
    assert len(lines) > 100
    if not FULL_HTML.exists():
        pytest.skip("build the full edition (make book) to check the detector")
    full = " ".join(_readable(p) for p in (FULL_HTML / "book").glob("ch*.html"))
    assert sum(line in full for line in lines) > 0.5 * len(lines)


def test_no_solution_in_any_student_file():
    leaks = _leaks(STUDENT, _solution_lines())
    assert not leaks, f"solutions leak into the student edition: {leaks}"


def test_no_instructors_page_and_launch_links_only_to_the_instructors_repository():
    html_dir = STUDENT / "src" / "_build" / "html"
    assert html_dir.exists(), "make student builds the student HTML"
    assert not (html_dir / "book" / "instructors.html").exists()
    assert "instructors" not in (STUDENT / "src" / "_toc.yml").read_text()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    public = config["repository"]["url"].rstrip("/")
    student = config["sphinx"]["config"].get("gradbook_student_repository", "").rstrip("/")
    for page in (html_dir / "book").glob("ch*.html"):
        text = page.read_text()
        launch = re.findall(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)[^"]*)"', text)
        if student:
            assert launch and all(student.split("github.com/")[-1] in url for url in launch), page.name
        else:
            assert not launch, f"{page.name} launches {launch[:1]} though no student repository is set"
        assert public not in text or (student and public == student), f"{page.name} links to the public repository"


def test_the_student_edition_links_no_pdf():
    """The PDF edition is the full book's (with the instructors' page): no link to it, and
    no print dialog in its place."""
    html_dir = STUDENT / "src" / "_build" / "html"
    for page in (html_dir / "book").glob("ch*.html"):
        text = page.read_text()
        assert "gradbook.pdf" not in text and "download-pdf-button" not in text, page.name
    assert not (html_dir / "gradbook.pdf").exists()
