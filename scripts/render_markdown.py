"""MyST Markdown rendered as plain notebook Markdown, for the launch notebooks.

The chapters are written in MyST: roles such as ``{glue:text}`name:fmt```, ``{cite}``,
``{numref}``, and directives such as ``{exercise}`` or ``{note}``. Jupyter and Colab
show those as raw text. :func:`render_markdown` turns a chapter's Markdown into the
CommonMark (with ``$...$`` math) that a notebook front end renders, using what the
book's build computed: the glued values (from the build's execution cache), the
numbers Sphinx gave the figures, equations and exercises (from the built HTML), the
page and section titles (from the sources) and the author-year labels of the
bibliography (from ``book/references.bib``). :func:`load_build` gathers all of that
once; scripts/make_notebooks.py uses it. Everything here works on strings, so the unit
tests can feed it small examples with a hand-made :class:`Context`.

What becomes of each construct:

- glued values: ``{glue:text}`` formatted by myst-nb's own function (the format spec
  after the last colon, Python's format mini-language), ``{glue:md}`` / ``{glue}`` /
  the ``{glue:md}`` directive as their Markdown, itself rendered;
- ``{cite}`` / ``{cite:p}`` as ``[Nielsen, 2015]``, ``{cite:t}`` as ``Nielsen [2015]``,
  as the HTML book writes them, each linked to the online bibliography page;
- ``{numref}`` as "Figure 3.2" / "Exercise 3.1", ``{eq}`` as "(3.2)", ``{ref}`` and
  ``{doc}`` as their text or the target's title, each linked to the online page's anchor;
- ``{term}`` as its text, ``{math}`` as ``$...$``; any other role as its text;
- ``$$ ... $$ (label)`` as ``$$ ... \\tag{3.2} $$``, ``{math}`` blocks as ``$$ ... $$``;
- admonitions (``{note}``, ``{tip}``, ``{warning}``, ``{admonition}`` ...) as
  blockquotes with a bold title; ``{dropdown}`` as a collapsed ``<details>``; any other
  directive as its rendered content; ``(label)=`` targets and ``%`` comments dropped.

Links go to ``Context.site`` (``gradbook_site_url`` in _config.yml); with no site, the
references are rendered as text without links.
"""

from __future__ import annotations

import html
import posixpath
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


class RenderError(ValueError):
    """A reference or a glued value that the build's records do not resolve."""


@dataclass(frozen=True)
class Target:
    """Where a label lives in the built book, and what Sphinx numbered it."""

    page: str  # docname, "book/ch03_layers_learn_at_different_speeds"
    anchor: str  # the element id in the page's HTML
    number: str = ""  # "Fig. 3.2", "Exercise 3.1", "(3.2)"; "" if not numbered
    title: str = ""  # a section's title (MyST), for {ref} without text


@dataclass
class Context:
    """What rendering needs to know about the book and its build."""

    site: str = ""  # the online book's base URL; "" renders references without links
    page: str = ""  # the docname of the page being rendered ("book/ch03_...")
    glue: dict = field(default_factory=dict)  # name -> mime bundle {"text/plain": ..., ...}
    targets: dict = field(default_factory=dict)  # label -> Target
    titles: dict = field(default_factory=dict)  # docname -> page title (MyST)
    bib: dict = field(default_factory=dict)  # key -> (authors as Markdown, year)

    def url(self, page: str, anchor: str = "") -> str:
        return f"{self.site.rstrip('/')}/{page}.html" + (f"#{anchor}" if anchor else "")

    def link(self, text: str, page: str, anchor: str = "") -> str:
        if not self.site:
            return text
        return f"[{text}]({self.url(page, anchor)})"

    def target(self, label: str, role: str) -> Target:
        try:
            return self.targets[label]
        except KeyError:
            raise RenderError(
                f"{self.page}: {{{role}}}`{label}` names a label that the built HTML (_build/html) does "
                "not have: run `make book` first") from None


# --------------------------------------------------------------------------- inline

# A role, or a code span (left as it is); numbered groups, so one pattern can hold both.
INLINE = re.compile(r"\{([A-Za-z][\w:+.-]*)\}(`+)(?!`)(.+?)(?<!`)\2(?!`)|(`+)(?!`)(.+?)(?<!`)\4(?!`)", re.S)
TEXT_TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
LIST_MARKER = re.compile(r"^(?:[-+*]|#{1,6}|\d{1,9}[.)])(?:[ \t\n]|$)")
NUMFIG = {"Fig.": "Figure", "Table": "Table", "Listing": "Listing", "Exercise": "Exercise"}
CODE_ROLES = {"code", "literal", "samp", "file", "kbd", "command", "program", "envvar", "option"}
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error",
               "seealso", "admonition", "margin", "sidebar", "topic", "epigraph", "pull-quote"}
TITLED = {"admonition", "margin", "sidebar", "topic", "dropdown", "card", "tab-item"}


def split_target(content: str) -> tuple[str, str]:
    """``text <target>`` -> (text, target); ``target`` -> ("", target)."""
    match = TEXT_TARGET.match(content.strip())
    if match and match.group(1):
        return match.group(1), match.group(2).strip()
    return "", content.strip()


def format_glue_text(bundle: dict, fmt: str) -> str:
    """A glued value's text/plain, formatted as myst-nb's ``{glue:text}`` formats it."""
    import gradbook as gb
    from myst_nb.core.variables import format_plain_text

    # written for people, as the book's Sphinx extension writes every {glue:text}
    return gb.humanize(format_plain_text(bundle["text/plain"], fmt))


def _glue(ctx: Context, key: str, role: str) -> dict:
    if "::" in key:
        raise RenderError(f"{ctx.page}: {{{role}}}`{key}`: glue from another page is not supported")
    try:
        return ctx.glue[key]
    except KeyError:
        raise RenderError(
            f"{ctx.page}: no glued value {key!r} in the build's execution of the page: "
            "run `make book` first") from None


def glue_markdown(ctx: Context, key: str, role: str, inline: bool) -> str:
    """A glued value as Markdown: its text/markdown rendered, else its text or its LaTeX."""
    bundle = _glue(ctx, key, role)
    if "text/markdown" in bundle:
        text = bundle["text/markdown"]
        return render_inline(text.strip(), ctx) if inline else render_markdown(text, ctx)
    if "text/latex" in bundle:
        latex = bundle["text/latex"].strip().strip("$")
        return f"${latex}$" if inline else f"$$\n{latex}\n$$"
    if "text/plain" in bundle:
        return format_glue_text(bundle, "")
    return f"*(an output of the page's code: see {ctx.link('the online page', ctx.page)})*"


def _authors(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} *et al.*"


def cite(ctx: Context, role: str, content: str) -> str:
    """A citation in the book's author-year style (sphinxcontrib-bibtex's, as the HTML
    book shows it): ``[A, 2015, B, 2016]``, or ``A [2015]`` for ``{cite:t}``."""
    keys = [k.strip() for k in content.split(",") if k.strip()]
    missing = [k for k in keys if k not in ctx.bib]
    if missing:
        raise RenderError(f"{ctx.page}: {{{role}}}`{content}`: no entry {missing} in book/references.bib")
    entries = sorted((ctx.bib[k] for k in keys), key=lambda e: (re.sub(r"\W", "", e[0]).lower(), e[1]))
    bib = "book/bibliography"
    kind = role.split(":", 1)[1] if ":" in role else "p"
    # Brackets as they are, not escaped: Jupyter reads a lone "[" as text, while "\\[" would be
    # taken for the start of display math by some front ends' math pre-processing.
    if kind in ("t", "ts", "ct", "cts"):
        return ", ".join(f"{a} [{ctx.link(y, bib)}]" for a, y in entries)
    if kind in ("author", "authors", "cauthor"):
        return ", ".join(ctx.link(a, bib) for a, _ in entries)
    if kind == "year":
        return ", ".join(ctx.link(y, bib) for _, y in entries)
    inner = ", ".join(ctx.link(f"{a}, {y}", bib) for a, y in entries)
    return inner if kind in ("alp", "alps") else f"[{inner}]"


def numbered(number: str) -> tuple[str, str]:
    """Sphinx's caption number ("Fig. 3.2") as (the book's word, the number): ("Figure", "3.2")."""
    parts = number.strip().rsplit(" ", 1)
    if len(parts) == 2:
        return NUMFIG.get(parts[0], parts[0]), parts[1]
    return "", parts[0]


def numref(ctx: Context, role: str, content: str) -> str:
    text, label = split_target(content)
    target = ctx.target(label, role)
    if not target.number:
        raise RenderError(f"{ctx.page}: {{numref}}`{label}` has no number in the built HTML: run `make book` first")
    word, number = numbered(target.number)
    if text:
        shown = text.replace("%s", number).replace("{number}", number).replace("{name}", target.title)
    else:
        shown = f"{word} {number}".strip()
    return ctx.link(shown, target.page, target.anchor)


def eq(ctx: Context, role: str, content: str) -> str:
    text, label = split_target(content)
    target = ctx.target(label, role)
    return ctx.link(text or target.number, target.page, target.anchor)


def ref(ctx: Context, role: str, content: str) -> str:
    text, label = split_target(content)
    target = ctx.target(label, role)
    if not text:
        if target.title:
            text = render_inline(target.title, ctx)
        elif target.number:
            text = " ".join(numbered(target.number)).strip()
        else:
            raise RenderError(f"{ctx.page}: {{ref}}`{label}` has no title to show: give it a text")
    return ctx.link(text, target.page, target.anchor)


def resolve_doc(current: str, target: str) -> str:
    """A {doc} target as a docname: relative to the current page's folder, or absolute."""
    target = target.removesuffix(".md").removesuffix(".ipynb")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(current), target))


def doc(ctx: Context, role: str, content: str) -> str:
    text, target = split_target(content)
    page = resolve_doc(ctx.page, target)
    if not text:
        if page not in ctx.titles:
            raise RenderError(f"{ctx.page}: {{doc}}`{content}` names no page of the book")
        text = render_inline(ctx.titles[page], ctx)
    return ctx.link(text, page)


def role(ctx: Context, name: str, content: str) -> str:
    """One role as Markdown."""
    if name == "glue:text":
        key, _, fmt = content.rpartition(":") if ":" in content else ("", "", "")
        key, fmt = (key, fmt) if key else (content, "s")
        return format_glue_text(_glue(ctx, key.strip(), name), fmt)
    if name in ("glue", "glue:any", "glue:md", "glue:markdown", "glue:math"):
        key = content.strip()
        if name in ("glue:md", "glue:markdown") and key.rsplit(":", 1)[-1] in ("commonmark", "gfm", "myst"):
            key = key.rsplit(":", 1)[0]
        return glue_markdown(ctx, key, name, inline=True)
    if name == "cite" or name.startswith("cite:"):
        return cite(ctx, name, content)
    if name == "numref":
        return numref(ctx, name, content)
    if name == "eq":
        return eq(ctx, name, content)
    if name in ("ref", "std:ref", "any"):
        return ref(ctx, name, content)
    if name == "doc":
        return doc(ctx, name, content)
    if name in ("math", "m"):
        return f"${content}$"
    text, target = split_target(content)
    shown = text or target
    if name in CODE_ROLES or name.startswith("py:"):
        return f"`{shown}`"
    if name in ("sub", "subscript"):
        return f"<sub>{shown}</sub>"
    if name in ("sup", "superscript"):
        return f"<sup>{shown}</sup>"
    return shown  # {term}, {abbr}, {download}, and anything unknown: the text


def render_inline(text: str, ctx: Context) -> str:
    """Every role of ``text`` rendered; code spans left as they are."""
    def one(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)  # a code span
        out = role(ctx, match.group(1), match.group(3))
        # A value that starts a line must not start a list or a heading ("1. ", "- "): in
        # the source the role began the line, and MyST did not read it as one.
        if not text[:match.start()].rsplit("\n", 1)[-1].strip():
            line = out + text[match.end():match.end() + 2]
            if LIST_MARKER.match(line):
                if line[0].isdigit():  # escape the "." or ")" after the digits
                    at = re.match(r"\d+", line).end()
                    out = out[:at] + "\\" + out[at:] if at < len(out) else out + "\\"
                else:
                    out = "\\" + out
        return out

    return INLINE.sub(one, text)


# --------------------------------------------------------------------------- blocks

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:+.-]+)\}\s*(?P<argument>.*)$")


@dataclass
class Directive:
    name: str
    argument: str
    options: dict
    body: str
    raw: str


@dataclass
class Fence:
    """A fenced code block (not a directive): kept as it is."""

    info: str
    body: str
    raw: str


def _options(body: str) -> tuple[dict, str]:
    """A directive's options (``:key: value`` lines or a ``---`` YAML block) and its content."""
    lines = body.split("\n")
    options: dict = {}
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            import yaml

            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            return options, "\n".join(lines[end + 1:]).strip("\n")
    i = 0
    while i < len(lines) and (match := re.match(r"^:([\w-]+):\s*(.*)$", lines[i])):
        options[match.group(1)] = match.group(2).strip()
        i += 1
    return options, "\n".join(lines[i:]).strip("\n")


def blocks(text: str) -> list:
    """``text`` split into Markdown (str), :class:`Fence` and :class:`Directive` blocks,
    at the top level: a directive's body holds its nested blocks unparsed."""
    lines = text.split("\n")
    out: list = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        info = match.group("info").strip() if match else ""
        opens = match and "`" not in info and (match.group("fence")[0] != ":" or info.startswith("{"))
        if not opens:
            plain.append(lines[i])
            i += 1
            continue
        char, length = match.group("fence")[0], len(match.group("fence"))
        close = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{length},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
        body = "\n".join(lines[i + 1:end])
        raw = "\n".join(lines[i:end + 1])
        if plain:
            out.append("\n".join(plain))
            plain = []
        directive = DIRECTIVE.match(info)
        if directive:
            options, content = _options(body)
            out.append(Directive(directive.group("name"), directive.group("argument").strip(), options, content, raw))
        else:
            out.append(Fence(info, body, raw))
        i = end + 1
    if plain:
        out.append("\n".join(plain))
    return out


# A display equation, $$ on lines of their own, with the label MyST allows after it.
DISPLAY_MATH = re.compile(r"^\$\$[ \t]*\n(?P<body>(?:.*\n)*?)\$\$[ \t]*(?:\((?P<label>[^)\s]+)\))?[ \t]*$", re.M)
TARGET_LINE = re.compile(r"^\([^)\s]+\)=[ \t]*\n?", re.M)
COMMENT_LINE = re.compile(r"^%.*\n?", re.M)
BLOCK_BREAK = re.compile(r"^\+\+\+.*\n?", re.M)


def tagged_math(body: str, label: str, ctx: Context) -> str:
    """A labelled display equation, numbered as the book numbers it (``\\tag{3.2}``)."""
    target = ctx.target(label, "eq")
    number = target.number.strip().strip("()")
    if number and not re.search(r"\\begin\{(align|equation|gather|multline)\*?\}", body):
        return f"$$\n{body}\n\\tag{{{number}}}\n$$"
    return f"$$\n{body}\n$$"


def render_text(text: str, ctx: Context) -> str:
    """A block of Markdown without fences: targets and comments dropped, labelled
    equations numbered, roles rendered."""
    text = TARGET_LINE.sub("", text)
    text = COMMENT_LINE.sub("", text)
    text = BLOCK_BREAK.sub("", text)
    pieces, at = [], 0
    for match in DISPLAY_MATH.finditer(text):
        pieces.append(render_inline(text[at:match.start()], ctx))
        body = match.group("body").rstrip("\n")
        pieces.append(tagged_math(body, match.group("label"), ctx) if match.group("label") else match.group(0))
        at = match.end()
    pieces.append(render_inline(text[at:], ctx))
    return "".join(pieces)


def quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip("\n").split("\n"))


def render_directive(d: Directive, ctx: Context) -> str:
    """One directive as Markdown: never the raw directive."""
    name = d.name
    if name in ("math",):
        label = d.options.get("label")
        return tagged_math(d.body, label, ctx) if label else f"$$\n{d.body}\n$$"
    if name.startswith("glue"):
        key = d.argument
        if name == "glue:text":
            return render_inline(f"{{glue:text}}`{key}`", ctx)
        return glue_markdown(ctx, key, name, inline=False)
    if name in ADMONITIONS:
        title = d.argument if name in TITLED else ("See also" if name == "seealso" else name.capitalize())
        body = d.body if name in TITLED or not d.argument else f"{d.argument}\n{d.body}"
        content = render_markdown(body, ctx).strip()
        return quote(f"**{render_inline(title, ctx)}**" + (f"\n\n{content}" if content else ""))
    if name in ("dropdown", "toggle", "solution"):
        title = d.argument or ("Solution" if name == "solution" else "Show")
        return details(render_inline(title, ctx), render_markdown(d.body, ctx))
    if name in ("code-block", "code", "sourcecode", "code-cell"):
        return fenced(d.body, d.argument.split(" ")[0] if d.argument else "")
    if name in ("figure", "image"):
        alt = d.options.get("alt", "")
        image = f"![{alt}]({d.argument})"
        label = d.options.get("name")
        if name == "figure" and d.body.strip():
            caption = render_markdown(d.body, ctx).strip()
            if label and label in ctx.targets and ctx.targets[label].number:
                caption = f"**{' '.join(numbered(ctx.targets[label].number))}.** {caption}"
            return f"{image}\n\n{caption}"
        return image
    if name == "exercise":
        label = d.options.get("label")
        number = ctx.target(label, "exercise").number if label else "Exercise"
        heading = " ".join(numbered(number)) + (f" ({render_inline(d.argument, ctx)})" if d.argument else "")
        return f"**{heading}**\n\n{render_markdown(d.body, ctx).strip()}"
    if name in ("solution-start", "solution-end", "bibliography", "toctree", "tableofcontents", "contents"):
        return ""
    if name == "raw":
        return d.body if d.argument.strip() == "html" else ""
    if name == "table" and d.argument:
        label = d.options.get("name")
        head = f"**{render_inline(d.argument, ctx)}**"
        if label and label in ctx.targets and ctx.targets[label].number:
            head = f"**{' '.join(numbered(ctx.targets[label].number))}: {render_inline(d.argument, ctx)}**"
        return f"{head}\n\n{render_markdown(d.body, ctx).strip()}"
    return render_markdown(d.body, ctx)  # anything else: its content


def fenced(code: str, info: str = "") -> str:
    """``code`` in a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{code.rstrip()}\n{fence}"


def details(summary: str, body: str) -> str:
    """A collapsed block: Jupyter, Colab and GitHub render the Markdown inside it."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def render_blocks(parts: list, ctx: Context) -> str:
    """Blocks (from :func:`blocks`) as Markdown, separated by blank lines."""
    out = []
    for block in parts:
        if isinstance(block, Directive):
            text = render_directive(block, ctx)
        elif isinstance(block, Fence):
            text = block.raw
        else:
            text = render_text(block, ctx)
        text = text.strip("\n")
        if text.strip():
            out.append(text)
    return "\n\n".join(out)


def render_markdown(text: str, ctx: Context) -> str:
    """A page's (or a cell's) MyST Markdown as notebook Markdown."""
    return render_blocks(blocks(text), ctx)


# --------------------------------------------------------------------------- the build


class _Numbers(HTMLParser):
    """Every element id of a built page, and the number Sphinx gave the numbered ones
    (the ``caption-number`` of a figure, table or exercise, the ``eqno`` of an equation)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.numbers: dict[str, str] = {}
        self.stack: list[tuple[str, str | None]] = []
        self.capture: tuple[str, list[str], int] | None = None  # (element id, text, depth)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag in self.VOID:
            return
        self.stack.append((tag, attrs.get("id")))
        classes = (attrs.get("class") or "").split()
        if self.capture is None and tag == "span" and ("caption-number" in classes or "eqno" in classes):
            owner = next((i for _, i in reversed(self.stack[:-1]) if i and i not in self.numbers), None)
            if owner:
                self.capture = (owner, [], len(self.stack))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.capture and len(self.stack) == self.capture[2]:
            owner, text, _ = self.capture
            self.numbers[owner] = "".join(text).strip()
            self.capture = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self.capture and len(self.stack) == self.capture[2]:
            self.capture[1].append(data)


def html_targets(html_dir: Path) -> dict:
    """label -> :class:`Target` for every id of the built pages under ``html_dir/book``
    (an equation's label without the ``equation-`` prefix Sphinx gives its id)."""
    targets = {}
    for path in sorted((html_dir / "book").glob("*.html")):
        parser = _Numbers()
        parser.feed(path.read_text())
        page = f"book/{path.stem}"
        for anchor in parser.ids:
            label = anchor.removeprefix("equation-")
            if label not in targets or anchor.startswith("equation-"):
                targets[label] = Target(page, anchor, html.unescape(parser.numbers.get(anchor, "")))
    return targets


SECTION = re.compile(r"^\((?P<label>[^)\s]+)\)=[ \t]*\n(?:[ \t]*\n)*#{1,6}[ \t]+(?P<title>.+?)[ \t]*$", re.M)
TITLE = re.compile(r"^#[ \t]+(.+?)[ \t]*$", re.M)


def source_titles(book: Path) -> tuple[dict, dict]:
    """(docname -> page title, label -> section title) from the book's sources."""
    pages, sections = {}, {}
    for path in sorted(book.glob("*.md")):
        text = re.sub(r"^---\n.*?\n---\n", "", path.read_text(), count=1, flags=re.S)
        text = re.sub(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", "", text, flags=re.M | re.S)  # no code
        docname = f"{book.name}/{path.stem}"
        if match := TITLE.search(text):
            pages[docname] = match.group(1)
        for match in SECTION.finditer(text):
            sections[match.group("label")] = match.group("title")
    return pages, sections


NUMBERED = {
    "exercise": re.compile(r"^`{3,}\{exercise\}[^\n]*\n(?:[ \t]*:[\w-]+:[^\n]*\n)*?[ \t]*:label:[ \t]*(\S+)", re.M),
    "figure": re.compile(r"^[ \t]+name:[ \t]*(fig-[\w-]+)[ \t]*$", re.M),
    "equation": re.compile(r"^\$\$[ \t]*\(([^)\s]+)\)[ \t]*$", re.M),
}


def stale_numbers(text: str, targets: dict) -> list[str]:
    """The exercises, figures and labelled equations of a chapter's source whose number in
    the built HTML is not their place in the source (1, 2, 3 ... in order, one chapter
    number): the source changed after the build, so the HTML's numbers would be wrong."""
    wrong = []
    for kind, pattern in NUMBERED.items():
        labels = pattern.findall(text)
        numbers = [targets[label].number if label in targets else "" for label in labels]
        chapters = {re.sub(r"^\D*\(?(\d+)\.\d+\)?$", r"\1", n) for n in numbers if n}
        for place, (label, number) in enumerate(zip(labels, numbers, strict=True), start=1):
            if len(chapters) > 1 or not re.search(rf"\.{place}\)?$", number):
                wrong.append(f"{kind} {label} is number {place} in the source but {number or 'absent'} in the HTML")
    return wrong


def bibliography(bib_path: Path) -> dict:
    """key -> (authors, year) for every entry of the .bib file, in the book's author-year
    style: one surname, two joined by "and", or the first and *et al.*"""
    from pybtex.database import parse_file

    # pybtex looks its text backend up among every installed package's entry points for
    # each name it renders (a second for this file); the book's extension registers it
    # once, under its own name "plaintext" (asked for as "text", an alias, pybtex searches).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
    try:
        from gradbook_sphinx import register_pybtex_plaintext
    finally:
        sys.path.pop(0)
    register_pybtex_plaintext()
    entries = {}
    for key, entry in parse_file(str(bib_path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(part.render_as("plaintext") for part in p.rich_prelast_names + p.rich_last_names)
                 for p in people]
        entries[key] = (_authors(names) if names else key, entry.fields.get("year", "n.d."))
    return entries


def glue_data(nb) -> dict:
    """name -> mime bundle of every value glued in an executed notebook (myst-nb stores
    each as a display output whose metadata ``scrapbook`` names it, its mime types
    prefixed with ``scrapbook.mime_prefix``)."""
    data = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            data[meta["name"]] = {k.removeprefix(prefix): v for k, v in output.get("data", {}).items()}
    return data


@dataclass
class Build:
    """What the book's build computed, as rendering needs it."""

    site: str
    targets: dict
    titles: dict
    bib: dict
    executed: dict  # path -> executed notebook

    def context(self, path: Path, root: Path, links: bool = True) -> Context:
        page = path.relative_to(root).with_suffix("").as_posix()
        return Context(site=self.site if links else "", page=page, glue=glue_data(self.executed[path]),
                       targets=self.targets, titles=self.titles, bib=self.bib)


def load_build(root: Path, paths: list[Path], site: str) -> Build:
    """Read the build: the executed notebooks of ``paths`` (matched to their current
    source), the built HTML's numbers, the sources' titles and the bibliography. Fails
    with a message that says to build the book if any of it is missing."""
    from bookfiles import executed

    html_dir = root / "_build" / "html"
    if not (html_dir / "book").is_dir():
        raise RenderError(f"no built book at {html_dir.relative_to(root)}: run `make book` first")
    found = executed(paths)
    missing = [p.relative_to(root).as_posix() for p in paths if p not in found]
    if missing:
        raise RenderError(f"not executed by the book's build since they last changed: {missing}. "
                          "The notebooks show the values the build computed: run `make book` first")
    targets = html_targets(html_dir)
    titles, sections = source_titles(root / "book")
    for label, title in sections.items():
        if label in targets:
            t = targets[label]
            targets[label] = Target(t.page, t.anchor, t.number, title)
    return Build(site, targets, titles, bibliography(root / "book" / "references.bib"), found)
