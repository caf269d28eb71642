"""Why, on screen: queue cells and tooltips, the why-box, the legend, the current box, the verdict."""

import html
import math
import re
import shutil

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)
from qtpy.QtCore import Qt
from test_gui_widget import press, scored_sample

from napari_noisyfix.gui import flags, scores
from napari_noisyfix.gui.bulk_panel import bulk_text
from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.legend import legend_html
from napari_noisyfix.gui.queue_panel import COLUMNS
from napari_noisyfix.gui.style import CURRENT_COLOR, DEFAULT_PALETTE, DONE_COLOR
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.quality.reasons import KIND_WORDS
from napari_noisyfix.quality.region import Region
from napari_noisyfix.quality.score import load_image_scores
from napari_noisyfix.quality.verdict import Verdict

GAIN = re.compile(r"^[+-]\d\.\d{3}$")
DICE = re.compile(r"^[01]\.\d\d$")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return scored_sample(tmp_path_factory.mktemp("explain") / "sample").root


@pytest.fixture
def widget(make_napari_viewer, template, tmp_path):
    root = shutil.copytree(template, tmp_path / "proj")
    viewer = make_napari_viewer()
    w = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(w, name="NoisyFix review")
    assert w.open_project(root, reviewer="dr-why")
    yield w
    w.close()


TIP = Qt.ToolTipRole


def column(name):
    return COLUMNS.index(name)


def check_queue_rows_carry_their_reason(widget):
    session, table = widget.controller.session, widget.queue_panel.table
    model = widget.queue_panel.model
    est = {r["image"]: r["est_dice"] for r in load_image_scores(session.project)}
    assert [model.headerData(i, Qt.Horizontal) for i in range(model.columnCount())] == [
        "#",
        "image",
        "what",
        "P(error)",
        "Dice gain",
        "mask Dice",
        "status",
    ]
    assert "expected gain in the image's Dice" in model.headerData(0, Qt.Horizontal, TIP)
    header = table.horizontalHeader()  # sorted by its key, shown: the expected Dice gain
    assert header.sortIndicatorSection() == column("Dice gain")
    assert "The queue's order" in model.headerData(column("Dice gain"), Qt.Horizontal, TIP)
    for row, region in enumerate(session.regions):
        assert region.reason
        cells = {name: model.index(row, column(name)) for name in COLUMNS}
        assert cells["#"].data() == str(row + 1)
        assert cells["what"].data() == region.label
        assert cells["P(error)"].data() == f"{region.score:.0%}"
        gain = cells["Dice gain"].data()
        assert GAIN.match(gain) and gain == f"{region.dice_gain:+.3f}"
        assert DICE.match(cells["mask Dice"].data())
        assert cells["mask Dice"].data() == f"{est[region.image]:.2f}"
        for item in cells.values():
            tip = item.data(TIP)
            assert html.escape(region.reason, quote=False) in tip and region.image in tip
        assert f"{region.dice_gain:+.3f} image Dice" in cells["Dice gain"].data(TIP)
        assert f"{region.gain:,.0f} px" in cells["Dice gain"].data(TIP)


def check_why_box_follows_navigation(widget):
    c, why = widget.controller, widget.why
    first = c.session.current
    assert html.escape(first.reason, quote=False) in why.text()
    assert "Estimated Dice of this image's mask" in why.text()
    est = c.view.est_dice[first.image]
    assert f"{est:.2f}" in why.text()
    press(widget.viewer, "N")
    second = c.session.current
    assert second.id != first.id
    assert html.escape(second.reason, quote=False) in why.text()
    if second.reason != first.reason:
        assert html.escape(first.reason, quote=False) not in why.text()


def check_legend_names_every_overlay(widget):
    text = widget.legend.text()
    palette = widget.controller.layers.palette
    assert palette == DEFAULT_PALETTE  # gray images: nothing to avoid
    assert text == legend_html(palette)
    for name in NAMES.values():
        if name != "image":
            assert name in text, name
    for word in ("missing object", "extra object", "outline too wide", "outline too narrow"):
        assert word in text
    for label in ("current", "done", "heatmap", "outline"):
        assert label in text
    for color in (*palette.kinds.values(), palette.proposal, palette.errors, CURRENT_COLOR):
        assert color in text


def slice_with_several(session):
    for name in session.project.names:
        regions = [r for r in session.regions if r.image == name and r.kind != "outlier"]
        if len(regions) >= 2:
            return regions
    raise AssertionError("the sample should have an image with two flagged regions")


def check_current_box_stands_out(widget):
    c, viewer = widget.controller, widget.viewer
    regions = slice_with_several(c.session)
    c.goto(regions[1].id)
    flags_layer = viewer.layers[NAMES["flags"]]
    ids = list(flags_layer.features["id"])
    assert set(ids) == {r.id for r in regions}
    current = ids.index(regions[1].id)
    colors, widths = flags_layer.edge_color, np.asarray(flags_layer.edge_width)
    labels = list(flags_layer.features["label"])
    for i in range(len(ids)):
        if i != current:
            assert not np.allclose(colors[i], colors[current])
            assert widths[i] < widths[current]
            assert len(labels[i]) < len(labels[current])
    assert np.allclose(colors[current][:3], [1.0, 1.0, 1.0])  # white
    assert "P(error)" in labels[current] and "\n" in labels[current]
    zoom = float(viewer.camera.zoom)  # widths stay the same on screen whatever the zoom
    assert widths[current] * zoom == pytest.approx(3.0)
    assert viewer.layers[NAMES["proposal"]].contour == 2


def test_the_screen_explains_the_current_region(widget):
    check_queue_rows_carry_their_reason(widget)
    check_why_box_follows_navigation(widget)
    check_legend_names_every_overlay(widget)
    check_current_box_stands_out(widget)


WEAK = Verdict(status="weak", image_auroc=0.52, region_auroc=0.55, small_auroc=0.48)
GOOD = Verdict(status="good", image_auroc=0.93, region_auroc=0.9, small_auroc=0.8, dice_r=0.8)


def test_verdict_banner_warns_only_when_the_model_cannot_judge(widget, monkeypatch):
    root = widget.controller.project.root
    monkeypatch.setattr(scores, "load_verdict", lambda project, version: WEAK)
    assert widget.open_project(root, reviewer="dr-why")
    assert widget.banner.is_warning and not widget.banner.isHidden()
    assert html.escape(WEAK.warning, quote=False) in widget.banner.text()
    assert "#fff3b0" in widget.banner.styleSheet() and widget.banner.wordWrap()
    monkeypatch.setattr(scores, "load_verdict", lambda project, version: GOOD)
    assert widget.open_project(root, reviewer="dr-why")
    assert not widget.banner.is_warning and not widget.banner.isHidden()
    assert widget.banner.text() == html.escape(GOOD.text(), quote=False)
    assert "#fff3b0" not in widget.banner.styleSheet()


# ---------------------------------------------------------------------- no viewer needed
def region(rid, kind="missing", bbox=(10, 10, 20, 20), score=0.93, scope="object"):
    h, w = bbox[2] - bbox[0], bbox[3] - bbox[1]
    return Region(
        rid, "im", kind, 1, score, 0.9, 350.0, h * w, bbox,
        np.ones((h, w), bool), np.ones((h, w), np.uint8), reason="r", scope=scope,
    )  # fmt: skip


def test_flag_style_highlights_the_current_box_and_keeps_labels_apart():
    regions = [
        region("im#0", "too_wide"),
        region("im#1", "missing", (11, 12, 20, 22)),  # its label would sit on im#0's
        region("im#2", "spurious", (60, 10, 70, 20)),
        region("im#3", "shifted", (80, 10, 90, 20)),
    ]
    status = {"im#3": "accepted"}
    style = flags.flag_style(regions, status, "im#2", (128, 128), zoom=5.0)
    assert style.edge_color[2] == CURRENT_COLOR and style.edge_color[3] == DONE_COLOR
    assert style.edge_color[0] == DEFAULT_PALETTE.kinds["too_wide"]
    assert style.edge_width[2] > style.edge_width[0] >= style.edge_width[3]
    assert style.z_index[2] == max(style.z_index)
    assert style.label[2].startswith(KIND_WORDS["spurious"]) and "P(error) 93%" in style.label[2]
    assert style.label[0] == "outline too wide · 93%"
    assert style.label[1] == ""  # would overlap im#0's label
    assert style.label[3] == ""  # done: no label


def test_whole_mask_words_on_the_canvas_are_short():
    whole = region("im#0", "too_wide", scope="image")
    assert flags.short_label(whole) == "mask too wide · 93%"
    assert flags.long_label(whole).startswith("whole mask drawn too wide\n")


def test_bulk_text_says_the_expected_precision():
    counts = {"regions": 12, "images": 7, "pixels": 3412, "precision": 0.94}
    assert bulk_text(counts, preview=True) == (
        "12 regions in 7 images would change 3,412 pixels; expected precision 94%"
    )
    one = {"regions": 1, "images": 1, "pixels": 5, "precision": 0.5}
    assert (
        bulk_text(one, preview=False)
        == "1 region in 1 image changed 5 pixels; expected precision 50%"
    )
    none = {"regions": 0, "images": 0, "pixels": 0, "precision": math.nan}
    assert bulk_text(none, preview=True) == "0 regions in 0 images would change 0 pixels"
