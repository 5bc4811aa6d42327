"""Plotting: the one figure style every chapter uses.

A white figure with dark text (legible on the book's light and dark themes), the
Okabe-Ito colour-blind-safe palette, sizes that fit the page, and helpers for the
log-scale axes that vanishing and exploding gradients need. Introduced in chapter 1.
"""

from __future__ import annotations

import re
import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from ._validate import integer, one_of
from .formatting import humanize

__all__ = ["PALETTE", "WIDTH", "PowerOfTenFormatter", "figure", "log_axis", "plot_layer_norms",
           "use_style"]

# Okabe & Ito (2008), the palette recommended for readers with colour-vision deficiency.
PALETTE = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]

WIDTH = 6.4  # inches: one figure across the page's text column

STYLE = {
    "figure.figsize": (WIDTH, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}


def use_style() -> None:
    """Apply the book's matplotlib style to every later figure.

    In a Jupyter kernel it also asks the inline backend for PNGs at twice the pixel
    density ("retina"), recorded at their usual size, so figures stay sharp on
    high-density screens and in the PDF at the same layout (about 0.02 s more a figure).
    """
    mpl.rcParams.update(STYLE)
    _sharp_inline_figures()


def _sharp_inline_figures() -> None:
    """Switch a running kernel's inline figures to 2x PNG, once per kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None or getattr(shell, "_gb_retina", False):
        return  # plain Python, a terminal IPython, or done already
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    shell._gb_retina = True


def figure(ncols: int = 1, nrows: int = 1, height: float | None = None, **kwargs):
    """A new figure in the book's style: ``fig, axes = gb.figure(ncols=2)``."""
    ncols = integer("ncols", ncols, minimum=1, maximum=4)
    nrows = integer("nrows", nrows, minimum=1, maximum=4)
    use_style()
    h = (3.2 if ncols > 1 else 3.6) * nrows if height is None else float(height)
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, h), layout="constrained", **kwargs)
    return fig, axes


# matplotlib's log-axis labels: $\mathdefault{10^{-3}}$, $\mathdefault{2\times10^{4}}$ or a
# plain $\mathdefault{0.5}$ (base 10, an integer exponent, an optional sign).
_MATHTEXT_LABEL = re.compile(r"\$\\mathdefault\{(-?)(?:([\d.]+)\\times)?(?:10\^\{(-?\d+)\}|([\d.]+))\}\$")


class PowerOfTenFormatter(mpl.ticker.LogFormatterSciNotation):
    """matplotlib's log-axis tick labels written in plain text, as :func:`gradbook.humanize`
    writes numbers in the prose: 10⁻³, 2 × 10⁴.

    matplotlib writes them as mathtext (``$\\mathdefault{10^{-3}}$``), which it parses
    anew for every figure and resolution at about 2 ms a label: 0.1 to 0.6 s of every
    chapter's run went to tick labels. A label of any other form stays as it was.
    """

    def __call__(self, x, pos=None):
        return plain_tick_label(super().__call__(x, pos))


def plain_tick_label(label: str) -> str:
    """A log-axis tick label of matplotlib's, as :func:`gradbook.humanize` writes the number:
    ``$\\mathdefault{2\\times10^{-3}}$`` -> ``2 × 10⁻³``. Another label is returned as it is."""
    match = _MATHTEXT_LABEL.fullmatch(label)
    if match is None:
        return label
    sign, coefficient, exponent, number = match.groups()
    if number is not None:
        return humanize(sign + number)
    if coefficient is None and int(exponent) == 0:  # 10⁰ among 10⁻¹ and 10¹, not 1
        return ("−" if sign else "") + "10⁰"
    return humanize(f"{sign}{coefficient or 1}e{exponent}")


def log_axis(ax, which: str = "y") -> None:
    """Put the ``which`` axis (``"x"``, ``"y"`` or ``"both"``) on a log-10 scale, with tick
    labels in plain text (:class:`PowerOfTenFormatter`)."""
    one_of("which", which, ["x", "y", "both"])
    for name in ("x", "y") if which == "both" else (which,):
        getattr(ax, f"set_{name}scale")("log")
        axis = getattr(ax, f"{name}axis")
        axis.set_major_formatter(PowerOfTenFormatter(10))
        axis.set_minor_formatter(PowerOfTenFormatter(10, labelOnlyBase=False))


def plot_layer_norms(ax, norms, label: str | None = None, **kwargs):
    """Plot per-layer norms (input side = layer 1) on a log-scale y axis."""
    norms = np.asarray(norms, dtype=float)
    if norms.ndim != 1 or norms.size == 0:
        raise ValueError("norms must be a non-empty 1-D sequence of per-layer values")
    if np.any(norms <= 0):
        raise ValueError("norms must be positive to be drawn on a log scale")
    layers = np.arange(1, norms.size + 1)
    style = {"marker": "o", "markersize": 3, **kwargs}  # a caller's marker replaces the circles
    (line,) = ax.plot(layers, norms, label=label, **style)
    log_axis(ax, "y")
    ax.set_xlabel("layer (input side = 1)")
    return line
