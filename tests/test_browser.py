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

#: How long any wait may take, in milliseconds. The tests wait for conditions (the page's
#: load event, MathJax's typesetting, no request in flight), never for a fixed time; this
#: limit only ends a wait that will never be met. Playwright's default (30 s) was hit on a
#: machine busy with other work, so it is set far above what a page needs.
WAIT_MS = 300_000


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


def _new_page(browser):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    return page


def _open(browser, server, page_path):
    """Load a page with every request outside the local server blocked; return the page and
    the problems seen while it loaded."""
    page = _new_page(browser)
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
    # Wait for what the checks read, not for the network to fall silent ("networkidle",
    # which on a busy machine was seen to wait past any limit): MathJax's typesetting,
    # every image settled (loaded or failed) and the web fonts.
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete) && document.fonts.status === 'loaded'")
    return page, problems


def test_site_root_redirects_to_the_welcome_page(browser, server):
    page = _new_page(browser)
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
    # Figures are sharp on high-density screens: at least twice the pixels they are shown at.
    blurry = page.evaluate(
        "() => [...document.querySelectorAll('figure img')].filter(i => i.naturalWidth < "
        "1.9 * i.getBoundingClientRect().width).map(i => [i.naturalWidth, "
        "i.getBoundingClientRect().width])"
    )
    assert not blurry, f"figures with fewer than 2 pixels per CSS pixel: {blurry}"
    # Glued numbers are written for people: no '5.3e-13' in the prose.
    prose = page.evaluate(
        "() => [...document.querySelectorAll('.pasted-text')].map(e => e.innerText)")
    assert prose, "a chapter quotes computed numbers"
    raw = [t for t in prose if re.fullmatch(r"-?\d+(\.\d+)?e[-+]\d+|\d{4,}(\.\d+)?", t.strip())]
    assert not raw, f"glued numbers printed as Python prints them: {raw[:5]}"
    # Exercises are there, and their solutions start hidden.
    assert page.locator(".exercise").count() >= 3
    solutions = page.locator(".solution")
    assert solutions.count() >= 1
    for i in range(solutions.count()):
        body = solutions.nth(i).locator(".solution-content, section").first
        assert not body.is_visible(), f"solution {i + 1} is visible before it is opened"
    page.close()
    assert not problems, "\n".join(problems)


def _recorded_claims() -> dict[str, list[str]]:
    """Each chapter's claims as its own execution in this build recorded them."""
    import gradbook as gb

    chapters = bookfiles.chapters()
    executed = bookfiles.executed(chapters)
    missing = [p.stem for p in chapters if p not in executed]
    assert not missing, f"not executed since they last changed: {missing}; build the book first"
    return {p.stem: [r["claim"] for r in gb.collect([executed[p]])] for p in chapters}


def _query(browser, server, page_path, **queries):
    """Load a page cleanly and evaluate each ``name=(selector, js)`` over its matches."""
    page, problems = _open(browser, server, page_path)
    found = {name: page.eval_on_selector_all(selector, js) for name, (selector, js) in queries.items()}
    page.close()
    assert not problems, problems
    return found


CELLS = "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
HREFS = "[...e.querySelectorAll('a')].map(a => a.getAttribute('href') || '')"


def test_the_ledger_shows_every_claim_a_chapter_records(browser, server):
    found = _query(browser, server, "book/ledger.html", rows=("table tbody tr", CELLS),
                   text=("main p", "ps => ps.map(p => p.innerText.trim())"))
    rows = [r for r in found["rows"] if len(r) == 7 and r[0].isdigit()]
    straight = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
    shown = {(int(r[0]), r[2].translate(straight)) for r in rows}  # Sphinx curls quotes
    recorded = _recorded_claims()
    # every claim by its text (claims with math or markup render differently: by count)
    absent = [(stem, claim) for stem, claims in recorded.items() for claim in claims
              if not re.search(r"[$`*\\{]", claim) and (int(stem[2:4]), claim) not in shown]
    assert not absent, f"claims the chapters record but the ledger does not show: {absent}"
    per_chapter = {int(stem[2:4]): len(claims) for stem, claims in recorded.items() if claims}
    assert {n: sum(int(r[0]) == n for r in rows) for n in per_chapter} == per_chapter
    total = sum(per_chapter.values())
    assert len(rows) == total
    assert any(p.startswith(f"{total} claims from ") for p in found["text"]), "the counts are missing"


def test_glossary_terms_have_chinese_renderings_and_chapters(browser, server):
    found = _query(browser, server, "book/glossary.html",
                   terms=("dl.glossary > dt", "dts => dts.map(dt => dt.innerText.trim())"),
                   definitions=("dl.glossary > dd", f"dds => dds.map(e => [e.innerText, {HREFS}])"))
    assert len(found["definitions"]) >= 30
    chinese = [t for t in found["terms"] if re.search(r"[\u4e00-\u9fff]", t)]
    assert len(chinese) >= len(found["definitions"]) - 2, "a term lacks its Chinese rendering"
    for text, hrefs in found["definitions"]:
        assert "Introduced in" in text and any(re.search(r"ch\d\d_", h) for h in hrefs), text[:80]


def test_chapters_link_to_the_appendices(browser, server):
    """Every misconception entry links to a chapter that links back; every chapter links
    its terms to the glossary and opens with links to the three reference pages."""
    found = _query(browser, server, "book/misconceptions.html",
                   sections=("main section section", f"ss => ss.map(e => {HREFS})"))
    sections = found["sections"]
    assert len(sections) >= 16
    assert all(any(re.search(r"ch\d\d_", h) for h in hrefs) for hrefs in sections)
    targets = {m.group() for hrefs in sections for h in hrefs if (m := re.search(r"ch\d\d_\w+", h))}
    for stem in sorted(targets):
        assert "misconceptions.html" in (HTML / "book" / f"{stem}.html").read_text(), stem
    pages = {stem: (HTML / "book" / f"{stem}.html").read_text() for stem in _chapters()}
    assert sum(html.count("glossary.html#term-") for html in pages.values()) >= 30
    for stem, html in pages.items():  # the reference pages from every chapter's opening
        assert all(f'href="{name}.html"' in html for name in ("notation", "glossary", "misconceptions")), stem


def _at_width(browser, width: int, height: int):
    """A page in a browser window of this size: a phone (390 x 844, touch) or a desktop."""
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=phone,
                                  is_mobile=phone)
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    return context, context.new_page()


def _visible_in_viewport(page, selector: str) -> list[str]:
    """The text of every element matching ``selector`` that is shown and inside the window."""
    return page.eval_on_selector_all(
        selector,
        """els => els.filter(e => {
            const r = e.getBoundingClientRect(), s = getComputedStyle(e);
            return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.right > 0 &&
                   r.left < window.innerWidth && r.bottom > 0 && r.top < window.innerHeight;
          }).map(e => e.innerText.trim())""",
    )


def test_on_a_phone_the_menu_button_opens_the_chapter_list(browser, server):
    """At 390 px the sidebar is hidden; tapping the one visible menu button shows the list of
    chapters, which leads to another chapter (pydata-sphinx-theme issue 2451 broke this)."""
    context, page = _at_width(browser, 390, 844)
    page.goto(f"{server}/book/ch01_backprop_is_a_product.html", wait_until="load")
    sidebar_links = ".bd-sidebar-primary a.reference.internal"
    assert not _visible_in_viewport(page, sidebar_links), "the chapter list shows before the tap"
    toggles = page.locator(".primary-toggle:visible")
    assert toggles.count() == 1, "one visible menu button"
    toggles.first.tap()
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{sidebar_links}')].some(a => {{"
        "const r = a.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && "
        "r.top < window.innerHeight; })", timeout=30_000)  # a tap's effect, not a load
    shown = _visible_in_viewport(page, sidebar_links)
    assert any(t.startswith("2.") for t in shown), shown  # chapter 2, in the visible list
    page.locator(sidebar_links, has_text="The sigmoid bound").first.tap()
    page.wait_for_url("**/ch02_sigmoid_bound.html")
    context.close()


def test_on_a_desktop_there_is_one_search_box(browser, server):
    context, page = _at_width(browser, 1280, 900)
    page.goto(f"{server}/book/ch01_backprop_is_a_product.html", wait_until="load")
    boxes = _visible_in_viewport(page, "input[type=search], .search-button-field, form.bd-search")
    assert len(boxes) == 1, boxes
    context.close()


def test_live_code_says_what_it_needs_when_the_network_is_cut(browser, server):
    """Offline, Thebe's script cannot be fetched: after the reader presses Live Code the
    page says in words that Live Code is unavailable, and how to run the chapter instead."""
    context, page = _at_width(browser, 1280, 900)
    blocked = []

    def cut(route):  # the network is cut: nothing beyond this machine answers
        if route.request.url.startswith(server):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", cut)
    page.goto(f"{server}/book/ch07_rnn_jacobian_and_bptt.html", wait_until="load")
    page.wait_for_function("() => window.initThebe && window.initThebe.gradbookWatched",
                           timeout=60_000)  # local scripts, loaded with the page
    page.locator("button[aria-label='Launch interactive content']").click()
    page.locator(".btn-launch-thebe").click()
    note = page.locator(".gradbook-livecode-offline")
    note.wait_for(state="visible", timeout=60_000)  # the failed fetch is reported at once
    text = note.inner_text()
    assert "Live Code is not available" in text and "internet connection" in text, text
    hrefs = note.evaluate("n => [...n.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert any(h.endswith("ch07_rnn_jacobian_and_bptt.ipynb") and "_sources" in h for h in hrefs), hrefs
    assert any("colab.research.google.com" in h for h in hrefs), hrefs
    assert "make book" in text
    assert any("thebe" in url for url in blocked), blocked  # it did try to fetch Thebe
    context.close()


EXPLORER_PAGES = ["ch01_backprop_is_a_product", "ch05_initialisation", "ch07_rnn_jacobian_and_bptt"]


@pytest.mark.parametrize("chapter", EXPLORER_PAGES)
def test_explorers_move_offline(browser, server, chapter):
    """Every explorer on the page is drawn by the site's own Plotly.js with the network
    cut; a click near the end of its slider shows other curves and another value."""
    page, problems = _open(browser, server, f"book/{chapter}.html")  # outside requests blocked
    explorers = page.locator(".gradbook-explorer")
    assert explorers.count() >= 1, f"{chapter} has no explorer"
    for i in range(explorers.count()):
        el = explorers.nth(i)
        el.scroll_into_view_if_needed()
        el.locator(".slider-rail-rect").wait_for(state="visible", timeout=60_000)

        def state(el=el):
            return el.evaluate(
                "e => [e.data.map(t => t.visible === true), "
                "[...e.querySelectorAll('.slider-container text')].map(t => t.textContent)"
                ".find(t => t.includes(' = '))]")  # the current value, "c = 2"

        before = state()
        rail = el.locator(".slider-rail-rect").bounding_box()
        page.mouse.click(rail["x"] + 0.97 * rail["width"], rail["y"] + rail["height"] / 2)
        page.wait_for_function(
            "([e, v]) => JSON.stringify(e.data.map(t => t.visible === true)) !== v",
            arg=[el.element_handle(), json.dumps(before[0])], timeout=30_000)
        after = state()
        assert after[0] != before[0] and after[1] != before[1], (before[1], after[1])
        assert sum(after[0]) >= 1  # some curves are shown
    page.close()
    assert not problems, "\n".join(problems)


AXE = ROOT / "_build" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _page_in_mode(browser, server, mode):
    """A page whose reader's system asks for ``mode`` (light or dark), with every request
    outside the local server blocked; returns (context, page): close the context."""
    context = browser.new_context(color_scheme=mode)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    return context, page


#: Waits for every running CSS transition to end (animations that loop are not waited for).
SETTLED_TRANSITIONS = """() => Promise.all(document.getAnimations()
    .filter(a => a instanceof CSSTransition).map(a => a.finished.catch(() => null)))"""


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_colour_mode_is_drawn_from_the_start(browser, server, mode):
    """A reader whose system asks for dark (or light) gets it from the first paint: no
    colour is still fading from the other mode once the page has loaded (the theme used
    to resolve its "auto" mode only at the end of the page; the extension's point 11).
    The reader's own choice (the colour-mode button) wins over the system's on the next
    page, also from the first paint."""
    other = {"light": "dark", "dark": "light"}[mode]
    context, page = _page_in_mode(browser, server, mode)

    def load(path):
        page.goto(f"{server}/{path}", wait_until="load")
        fading = page.evaluate("""() => document.getAnimations()
            .filter(a => a instanceof CSSTransition && /color/.test(a.transitionProperty))
            .map(a => `${a.transitionProperty} of ${a.effect.target.className}`)""")
        return page.evaluate("() => document.documentElement.dataset.theme"), fading

    theme, fading = load("book/notation.html")
    assert theme == mode
    assert not fading, f"colours still fading into {mode} mode after load: {fading}"
    page.locator(".theme-switch-button").first.click()  # from "auto" to the other mode
    assert page.evaluate("() => document.documentElement.dataset.theme") == other
    theme, fading = load("book/ch01_backprop_is_a_product.html")
    context.close()
    assert theme == other, "the reader's choice of colour mode is not kept on the next page"
    assert not fading, f"colours still fading into {other} mode after load: {fading}"


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("page_path", _pages())
def test_no_serious_accessibility_violation(browser, server, page_path, mode):
    """axe-core on every page, in light and in dark mode: no serious or critical
    violation of a WCAG 2.1 A or AA rule."""
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make browser` (it installs it)", pytrace=False)
    context, page = _page_in_mode(browser, server, mode)
    page.goto(f"{server}/{page_path}", wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    assert page.evaluate("() => document.documentElement.dataset.theme") == mode
    # Colours are measured at rest: axe reads an element's colour as it is drawn now, and
    # a colour mid-transition is neither the one before nor the one after.
    page.evaluate(SETTLED_TRANSITIONS)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    context.close()
    serious = [f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes, e.g. {v['nodes'][0]['target']}): "
               f"{v['help']}" for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(serious)


@pytest.mark.parametrize("chapter", [*_chapters(), "notation"])
def test_on_a_phone_wide_equations_and_tables_scroll_in_their_column(browser, server, chapter):
    """At 390 px the page itself never scrolls sideways; an equation or table wider than
    the column scrolls inside its own box, which shows a shadow at the edge where more is
    hidden (phones show no scroll bar until one scrolls). Code scrolls in its own block."""
    context, page = _at_width(browser, 390, 844)
    page.goto(f"{server}/book/{chapter}.html", wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the phone's screen"
    hidden = page.evaluate(
        """() => [...document.querySelectorAll(
              'mjx-container[display="true"], table')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .filter(e => { let n = e; while (n && n !== document.body) {
                              const s = getComputedStyle(n);
                              if ((s.overflowX === 'auto' || s.overflowX === 'scroll') &&
                                  s.backgroundImage.includes('gradient')) return false;
                              n = n.parentElement; }
                           return true; })
            .map(e => e.tagName + ': ' + e.textContent.slice(0, 40))""")
    context.close()
    assert not hidden, f"wider than the column, without a scroll box that shows it: {hidden}"
