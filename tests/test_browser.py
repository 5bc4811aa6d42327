"""Open every page of the built book in headless Chromium and check what a reader sees.

Fails on JavaScript errors, console errors, requests that fail or try to leave this
machine, images that did not load, TeX that MathJax did not render, and launch or
download links that do not point at the page's own notebook. Needs `make book` (or the
strict build of `make test`) first, and Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bookfiles  # noqa: E402  (scripts/: the one reader of _toc.yml)

HTML = ROOT / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
ORG_REPO = "/".join(urlparse(REPO_URL).path.strip("/").split("/")[:2])
BRANCH = CONFIG["repository"].get("branch", "main")

pytestmark = pytest.mark.browser


def _pages() -> list[str]:
    """Every page of the current build: the table of contents plus Sphinx's own pages."""
    return [f"{d}.html" for d in bookfiles.pages()] + ["genindex.html", "search.html"]


def _chapters() -> list[str]:
    return [p.stem for p in bookfiles.chapters()]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium chromium-driver", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


def _open(browser, server, page_path):
    """Load a page with every request outside the local server blocked; return the page and
    the problems seen while it loaded."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught JavaScript error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            problems.append(f"request leaves this machine: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.goto(f"{server}/{page_path}", wait_until="load")
    # Wait for MathJax to finish typesetting when the page has it.
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_load_state("networkidle")
    return page, problems


def test_site_root_redirects_to_the_welcome_page(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/index.html")
    page.wait_for_url(f"{server}/book/index.html")
    page.close()


@pytest.mark.parametrize("page_path", _pages())
def test_page_loads_cleanly(browser, server, page_path):
    if not (HTML / page_path).exists():
        pytest.fail(f"{page_path} is not built: run `make book` first", pytrace=False)
    page, problems = _open(browser, server, page_path)
    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    problems += [f"image did not load: {src}" for src in broken]
    math = page.evaluate(
        """() => {
            const nodes = [...document.querySelectorAll('.math')];
            return {
              total: nodes.length,
              unrendered: nodes.filter(n => !n.querySelector('mjx-container') &&
                                            n.tagName !== 'MJX-CONTAINER' &&
                                            !n.closest('mjx-container')).map(n => n.textContent.slice(0, 60)),
              errors: [...document.querySelectorAll('mjx-merror')].map(n => n.getAttribute('data-mjx-error')),
            };
        }"""
    )
    if page_path.startswith("book/ch"):
        assert math["total"] > 0, "a chapter page shows rendered math"
    problems += [f"TeX not rendered: {t!r}" for t in math["unrendered"]]
    problems += [f"MathJax error: {e}" for e in math["errors"]]
    text = page.evaluate(
        """() => { const a = document.querySelector('article') || document.body;
                   const c = a.cloneNode(true);
                   c.querySelectorAll('pre, code, mjx-container, script').forEach(n => n.remove());
                   return c.innerText; }"""
    )
    for pattern in (r"\$\$", r"\\\(", r"\\\[", r"\\frac", r"\\begin\{"):
        if re.search(pattern, text):
            problems.append(f"raw TeX left in the page text: {pattern}")
    page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_links_and_exercises(browser, server, chapter):
    page, problems = _open(browser, server, f"book/{chapter}.html")
    hrefs = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    twin = f"notebooks/{chapter}.ipynb"
    assert (ROOT / twin).exists(), f"{twin} is missing: run `make notebooks`"
    binder = [h for h in hrefs if h and "mybinder.org" in h]
    colab = [h for h in hrefs if h and "colab.research.google.com" in h]
    assert binder == [f"https://mybinder.org/v2/gh/{ORG_REPO}/{BRANCH}?urlpath=tree/{twin}"], binder
    assert colab == [f"https://colab.research.google.com/github/{ORG_REPO}/blob/{BRANCH}/{twin}"], colab
    assert page.locator(".btn-launch-thebe, [data-bs-title='Launch Thebe']").count() >= 1
    thebe = page.evaluate("() => document.querySelector('script[type=\"text/x-thebe-config\"]')?.textContent")
    assert thebe and f'repo: "{ORG_REPO}"' in thebe and f'ref: "{BRANCH}"' in thebe, thebe
    # The download link gives the executed notebook itself, as .ipynb.
    downloads = [h for h in hrefs if h and h.endswith(".ipynb") and "_sources" in h]
    assert downloads == [f"../_sources/book/{chapter}.ipynb"], downloads
    response = page.request.get(f"{server}/_sources/book/{chapter}.ipynb")
    assert response.ok
    nb = json.loads(response.text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "the downloaded notebook is not executed"
    # Figures carry alt text and a caption.
    figures = page.evaluate(
        "() => [...document.querySelectorAll('figure')].map(f => [f.querySelector('img')?.alt || '', "
        "f.querySelector('figcaption')?.innerText || ''])"
    )
    assert figures, "a chapter shows at least one figure"
    for alt, caption in figures:
        assert alt.strip() and caption.strip(), (alt, caption)
    # Exercises are there, and their solutions start hidden.
    assert page.locator(".exercise").count() >= 3
    solutions = page.locator(".solution")
    assert solutions.count() >= 1
    for i in range(solutions.count()):
        body = solutions.nth(i).locator(".solution-content, section").first
        assert not body.is_visible(), f"solution {i + 1} is visible before it is opened"
    page.close()
    assert not problems, "\n".join(problems)
