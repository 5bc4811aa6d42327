"""Interactive figures that need no kernel: a slider over precomputed results.

A chapter computes its curves over a grid of one setting (the weight scale c, a singular
value, a depth) when the book is built, and :func:`explorer` turns them into a figure a
reader can play with: moving the slider shows the curves at that setting at once, in the
browser, offline. It is drawn with Plotly.js (its "basic" bundle, which ships with the
site: ``make`` fetches it from the npm registry into ``_vendor/plotly``, and the book's
Sphinx extension loads it on the pages that have an explorer), so there is no kernel and
no CDN. Everywhere else the same output is a static figure: the PDF, a notebook, a
browser without JavaScript, all show a PNG of the curves at a few settings, drawn in the
book's style, with its alt text; the page's script replaces it by the interactive plot
only when Plotly.js is there. Introduced for chapters 1, 5 and 7.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import integer

__all__ = ["Explorer", "explorer"]

#: The HTML class of an explorer's container; the Sphinx extension looks for it.
CLASS = "gradbook-explorer"
#: Where the site serves Plotly.js, relative to the site's _static folder.
PLOTLY_JS = "plotly/plotly-basic.min.js"

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Explorer:
    """What :func:`explorer` returns: shown by Jupyter as HTML (interactive where Plotly.js
    is loaded, the static image otherwise) or, where HTML is not wanted (the PDF), as the
    static PNG."""

    name: str
    html: str
    png: bytes
    width: int
    height: int

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/html": self.html, "image/png": base64.b64encode(self.png).decode(),
                "text/plain": f"<explorer {self.name}>"}
        return data, {"image/png": {"width": self.width, "height": self.height}}


def _array(name: str, values, shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite everywhere (a log axis cannot show inf or nan)")
    return a


def explorer(
    name: str,
    x: Sequence[float],
    curves: Mapping[str, Sequence[Sequence[float]]],
    values: Sequence[float],
    *,
    slider_label: str,
    xlabel: str,
    ylabel: str,
    alt: str,
    start: int = 0,
    static_at: Sequence[int] | None = None,
    log_x: bool = False,
    log_y: bool = False,
    value_format: str = "{:g}",
) -> Explorer:
    """An interactive figure: one slider over ``values``; at each value, every curve.

    Parameters
    ----------
    name:
        A short id, unique on its page, in lower case with hyphens (``"ch01-scale"``).
    x:
        The horizontal coordinates shared by every curve, (points,).
    curves:
        ``{label: y}`` with ``y`` of shape (len(values), points): row k is the curve at
        ``values[k]``.
    values, slider_label, value_format:
        The setting the slider moves over, its name and how a value is printed.
    xlabel, ylabel, log_x, log_y:
        The axes.
    alt:
        Alt text of the static figure (what it shows, for a reader who cannot see it).
    start:
        The slider's starting position (an index into ``values``).
    static_at:
        The positions the static figure draws (default: first, middle and last).
    """
    from .plotting import PALETTE, figure, log_axis

    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(f"name must be lower-case letters, digits and hyphens, such as 'ch01-scale'; got {name!r}")
    for label, text in (("slider_label", slider_label), ("xlabel", xlabel), ("ylabel", ylabel), ("alt", alt)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{label} must be a non-empty string")
    v = _array("values", values)
    if v.ndim != 1 or v.size < 2:
        raise ValueError("values must be a 1-D sequence of at least two settings for the slider")
    xs = _array("x", x)
    if xs.ndim != 1 or xs.size < 2:
        raise ValueError("x must be a 1-D sequence of at least two points")
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty mapping {label: array of shape (len(values), len(x))}")
    if len(curves) > len(PALETTE):
        raise ValueError(f"at most {len(PALETTE)} curves (one colour each), got {len(curves)}")
    ys = {str(label): _array(f"curves[{label!r}]", y, (v.size, xs.size)) for label, y in curves.items()}
    if (log_y and any((y <= 0).any() for y in ys.values())) or (log_x and (xs <= 0).any()):
        raise ValueError("a log axis needs positive values only")
    start = integer("start", start, minimum=0, maximum=v.size - 1)
    shown = [0, v.size // 2, v.size - 1] if static_at is None else list(static_at)
    shown = [integer("static_at entry", i, minimum=0, maximum=v.size - 1) for i in shown]
    try:
        labels = [value_format.format(float(value)) for value in v]
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"value_format must format one number, such as '{{:g}}': {exc}") from None

    # The static figure: the curves at a few settings, one line style per setting.
    fig, ax = figure(height=3.4)
    styles = ["-", "--", ":", "-."]
    for j, (label, y) in enumerate(ys.items()):
        for s, k in enumerate(shown):
            ax.plot(xs, y[k], color=PALETTE[j], ls=styles[s % len(styles)],
                    label=f"{label}, {slider_label} = {labels[k]}")
    if log_x:
        log_axis(ax, "x")
    if log_y:
        log_axis(ax, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    dpi = 200  # twice the book's figure.dpi, as the inline figures are
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    png = buffer.getvalue()
    width, height = (int(n) // 2 for n in _png_size(png))

    spec = {
        "x": xs.tolist(), "values": labels, "start": start, "slider": slider_label,
        "curves": [{"label": label, "color": PALETTE[j], "y": y.tolist()} for j, (label, y) in enumerate(ys.items())],
        "xlabel": xlabel, "ylabel": ylabel, "logX": bool(log_x), "logY": bool(log_y),
    }
    element = f"gbx-{name}"
    image = (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
             f'alt="{html.escape(alt, quote=True)}" width="{width}" height="{height}">')
    page = (
        f'<div class="{CLASS}" id="{element}" data-name="{name}">{image}</div>\n'
        f'<script type="application/json" id="{element}-data">{json.dumps(spec)}</script>\n'
        f"<script>{_SCRIPT.replace('__ELEMENT__', element)}</script>\n"
    )
    return Explorer(name=name, html=page, png=png, width=width, height=height)


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# Draws the explorer with Plotly.js if the page has it; otherwise the static image stays.
_SCRIPT = """(function () {
  function draw() {
    var el = document.getElementById("__ELEMENT__");
    if (!el || !window.Plotly || el.dataset.drawn) return;
    var spec = JSON.parse(document.getElementById("__ELEMENT__-data").textContent);
    var n = spec.values.length, m = spec.curves.length, traces = [], steps = [];
    for (var k = 0; k < n; k++) {
      for (var j = 0; j < m; j++) {
        traces.push({x: spec.x, y: spec.curves[j].y[k], name: spec.curves[j].label,
                     mode: "lines+markers", marker: {size: 4},
                     line: {color: spec.curves[j].color}, visible: k === spec.start,
                     showlegend: true});
      }
    }
    for (var k = 0; k < n; k++) {
      var visible = [];
      for (var i = 0; i < n * m; i++) visible.push(Math.floor(i / m) === k);
      steps.push({method: "restyle", args: ["visible", visible], label: spec.values[k]});
    }
    var layout = {
      height: 420, margin: {l: 70, r: 20, t: 20, b: 100},
      paper_bgcolor: "white", plot_bgcolor: "white", font: {color: "#222"},
      xaxis: {title: {text: spec.xlabel}, type: spec.logX ? "log" : "linear"},
      yaxis: {title: {text: spec.ylabel}, type: spec.logY ? "log" : "linear",
              exponentformat: "power"},
      legend: {orientation: "h", y: 1.02, yanchor: "bottom"},
      sliders: [{active: spec.start, steps: steps, pad: {t: 40},
                 currentvalue: {prefix: spec.slider + " = "}}]
    };
    el.innerHTML = "";
    el.dataset.drawn = "1";
    window.Plotly.newPlot(el, traces, layout, {displayModeBar: false, responsive: true});
  }
  if (window.Plotly) draw(); else window.addEventListener("load", draw);
})();"""
