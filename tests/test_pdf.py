"""The PDF edition (make pdf): what the HTML book shows is in it.

Reads the PDF's text with poppler's pdftotext and lists its images with pdfimages, and
compares with the built HTML: every chapter's title, a sample of every chapter's glued
numbers (as the HTML prints them, written for people), at least as many images as the
HTML has figures, no unresolved reference ("??"), exercises without their solutions, and
the download menu's ".pdf" entry linking to this file. Needs `make book` and `make pdf`.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bookfiles  # noqa: E402

PDF = ROOT / "_build" / "gradbook.pdf"
HTML = ROOT / "_build" / "html"
SAMPLE_EVERY = 7  # every 7th glued number of a chapter, in page order


def _norm(text: str) -> str:
    """One space for any run of white space (no-break spaces included), no soft hyphens."""
    text = text.replace("\u00ad", "").replace("\ufb01", "fi").replace("\ufb02", "fl")
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


@cache
def _pdf_text() -> str:
    if not PDF.exists():
        pytest.fail(f"{PDF.relative_to(ROOT)} is missing: run `make pdf`", pytrace=False)
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install poppler-utils", pytrace=False)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(PDF), "-"], capture_output=True,
                         text=True, check=True).stdout
    # Words broken across lines by TeX's hyphenation are joined again.
    return _norm(re.sub(r"(\w)-\n(\w)", r"\1\2", out))


def _chapter_html(stem: str) -> str:
    page = HTML / "book" / f"{stem}.html"
    if not page.exists():
        pytest.fail(f"{page.relative_to(ROOT)} is missing: run `make book`", pytrace=False)
    return page.read_text()


def _title(page: str) -> str:
    """The page's title as its <h1> shows it, without the section number and anchor."""
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", h1)).replace("#", "")
    return _norm(re.sub(r"^\s*\d+\.\s*", "", text))


CHAPTERS = [p.stem for p in bookfiles.chapters()]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_title_is_in_the_pdf(stem):
    assert _title(_chapter_html(stem)) in _pdf_text()


@pytest.mark.parametrize("stem", CHAPTERS)
def test_a_sample_of_glued_numbers_is_in_the_pdf(stem):
    from bs4 import BeautifulSoup  # pydata-sphinx-theme's dependency

    soup = BeautifulSoup(_chapter_html(stem), "html.parser")
    for solution in soup.select(".solution"):  # the PDF leaves the solutions out
        solution.decompose()
    values = [_norm(span.get_text()) for span in soup.select("article .pasted-text")]
    sample = [v for v in values[::SAMPLE_EVERY] if v]
    assert len(sample) >= 3, f"{stem} glues too few numbers to sample"
    text = _pdf_text()
    missing = [v for v in sample if v not in text]
    assert not missing, f"glued values of {stem} not in the PDF: {missing}"


def test_the_pdf_holds_every_figure():
    figures = sum(len(re.findall(r"<figure[^>]*>\s*(?:<a[^>]*>)?\s*<img", _chapter_html(s)))
                  for s in CHAPTERS)
    assert figures > 0
    listing = subprocess.run(["pdfimages", "-list", str(PDF)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]  # two header lines
    images = [line for line in listing if line.split()[2:3] == ["image"]]
    assert len(images) >= figures, f"{len(images)} images in the PDF, {figures} figures in the HTML"


def test_no_unresolved_reference():
    text = _pdf_text()
    assert "??" not in text, text[max(0, text.index("??") - 80): text.index("??") + 20]


def test_exercises_are_in_the_pdf_and_their_solutions_are_not():
    text = _pdf_text()
    assert "This is the PDF edition" in text and "leaves out the solutions" in text
    assert len(re.findall(r"Exercise \d+\.\d+", text)) >= 4 * len(CHAPTERS)
    assert "Solution to Exercise" not in text


def test_the_download_menu_links_the_pdf():
    page = _chapter_html(CHAPTERS[0])
    links = re.findall(r'href="([^"]*gradbook\.pdf)"', page)
    assert links == ["../gradbook.pdf"], links
    assert "window.print()" not in page
    assert (HTML / "gradbook.pdf").read_bytes() == PDF.read_bytes()
