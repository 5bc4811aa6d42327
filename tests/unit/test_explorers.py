"""gb.explorer: a slider over precomputed curves, with a static figure for everywhere else."""

import base64
import json
import re

import gradbook as gb
import numpy as np
import pytest


def _small(**kwargs):
    args = dict(slider_label="c", xlabel="layer", ylabel="norm", alt="two curves")
    args.update(kwargs)
    return gb.explorer("t-one", [1, 2, 3], {"a": [[1, 2, 3], [2, 3, 4]], "b": [[3, 2, 1], [1, 1, 1]]},
                       [1.0, 2.0], **args)


def test_the_html_holds_the_data_the_static_image_and_the_script():
    e = _small(log_y=True, start=1)
    page = e.html
    assert 'class="gradbook-explorer" id="gbx-t-one"' in page
    spec = json.loads(re.search(r'<script type="application/json" id="gbx-t-one-data">(.*?)</script>',
                                page, re.S).group(1))
    assert spec["values"] == ["1", "2"] and spec["start"] == 1 and spec["logY"] is True
    assert [c["label"] for c in spec["curves"]] == ["a", "b"]
    assert spec["curves"][1]["y"] == [[3, 2, 1], [1, 1, 1]]
    assert spec["curves"][0]["color"] == gb.PALETTE[0]
    # the static image is in the page (a reader without JavaScript sees it), with its alt text
    src = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="two curves"', page).group(1)
    assert base64.b64decode(src) == e.png and e.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "window.Plotly" in page and "restyle" in page  # drawn only where Plotly.js is


def test_jupyter_and_latex_get_a_static_png_at_its_usual_size():
    e = _small()
    data, metadata = e._repr_mimebundle_()
    assert set(data) == {"text/html", "image/png", "text/plain"}
    assert base64.b64decode(data["image/png"]) == e.png
    w, h = int.from_bytes(e.png[16:20], "big"), int.from_bytes(e.png[20:24], "big")
    assert metadata["image/png"] == {"width": w // 2, "height": h // 2}  # a 2x PNG


def test_the_same_input_gives_the_same_output():
    assert _small().html == _small().html  # nbval compares it


@pytest.mark.parametrize(("change", "error", "message"), [
    (dict(name="Bad Name"), ValueError, "lower-case"),
    (dict(values=[1.0]), ValueError, "at least two"),
    (dict(curves={"a": [[1, 2], [2, 3]]}), ValueError, "shape"),
    (dict(curves={"a": [[1, 2, np.nan], [2, 3, 4]]}), ValueError, "finite"),
    (dict(curves={"a": [[1, 2, 0], [2, 3, 4]]}, log_y=True), ValueError, "positive"),
    (dict(curves={}), TypeError, "non-empty mapping"),
    (dict(alt=" "), ValueError, "alt"),
    (dict(start=5), ValueError, "start"),
])
def test_bad_input_is_explained(change, error, message):
    args = dict(name="t-one", x=[1, 2, 3], curves={"a": [[1, 2, 3], [2, 3, 4]]}, values=[1.0, 2.0],
                slider_label="c", xlabel="layer", ylabel="norm", alt="two curves")
    args.update(change)
    with pytest.raises(error, match=message):
        gb.explorer(**args)
