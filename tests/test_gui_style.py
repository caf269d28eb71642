"""Overlay colours chosen against the images' own hue; labels inside the canvas; number formats."""

import numpy as np
from test_gui_explain import region

from napari_noisyfix.gui import flags
from napari_noisyfix.gui.style import (
    DEFAULT_PALETTE,
    HUE_MARGIN,
    OKABE_ITO,
    dice,
    dominant_hue,
    gain,
    hue,
    hue_distance,
    palette_for,
    percent,
)


def he_like(seed=0, size=64):
    """Pink background with purple nuclei, as H&E looks."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = (235, 160, 200)  # eosin pink
    image[rng.random((size, size)) < 0.3] = (120, 60, 160)  # haematoxylin purple
    return image


def test_gray_images_keep_the_default_colour_blind_safe_palette():
    gray = [np.random.default_rng(0).random((32, 32)).astype(np.float32)]
    assert dominant_hue(gray) is None
    palette = palette_for(gray)
    assert palette == DEFAULT_PALETTE
    colors = [palette.proposal, *palette.kinds.values()]
    assert set(colors) - {"#ffffff"} <= set(OKABE_ITO.values())
    assert palette.kinds["missing"] != palette.proposal
    assert len(set(palette.kinds.values())) == len(palette.kinds)  # one colour per kind


def test_on_h_and_e_no_overlay_takes_the_stain_hue():
    images = [he_like(0), he_like(1)]
    stain = dominant_hue(images)
    assert 290 <= stain <= 345  # pink-purple
    palette = palette_for(images)
    assert palette.avoided_hue == stain
    for color in (palette.proposal, palette.errors, *palette.kinds.values()):
        if color != "#ffffff":
            assert hue_distance(hue(color), stain) >= HUE_MARGIN, color
    assert palette.kinds["missing"] != palette.proposal
    box_colors = [c for k, c in palette.kinds.items() if k != "outlier"]
    assert len(set(box_colors)) == len(box_colors)


def test_labels_stay_inside_the_canvas():
    top = region("im#0", "too_wide", (0, 10, 12, 20))  # at the top edge: no room above
    right = region("im#1", "missing", (60, 120, 70, 127))  # at the right edge
    inside = region("im#2", "spurious", (60, 10, 70, 20))
    style = flags.flag_style([top, right, inside], {}, "im#0", (128, 128), zoom=5.0)
    assert style.label[0] == "" and style.label[1] == ""
    assert style.label[2] == "extra object · 93%"
    for i, text in enumerate(style.label):
        if text:
            r0, c0, r1, c1 = flags.label_box([top, right, inside][i], text, 5.0)
            assert r0 >= -0.5 and c1 <= 128


def test_the_current_region_falls_back_to_its_short_label_when_the_long_one_does_not_fit():
    near_top = region("im#0", "too_wide", (4, 10, 14, 20))
    style = flags.flag_style([near_top], {}, "im#0", (128, 128), zoom=5.0)
    assert style.label == ["outline too wide · 93%"]
    assert style.edge_width[0] == 3.0


def test_labels_are_sized_for_the_zoom():
    left, right = (
        region("im#0", "too_wide", (40, 10, 50, 20)),
        region("im#1", bbox=(40, 60, 50, 70)),
    )
    near = flags.flag_style([left, right], {}, None, (128, 128), zoom=2.0).label
    close = flags.flag_style([left, right], {}, None, (128, 128), zoom=8.0).label
    assert near[0] and not near[1]  # zoomed out: the first label reaches the second box's
    assert close[0] and close[1]  # zoomed in: both fit


def test_open_boxes_are_two_pixels_wide():
    style = flags.flag_style(
        [region("a#0"), region("a#1", bbox=(60, 60, 70, 70))], {}, None, (128, 128)
    )
    assert style.edge_width == [2.0, 2.0]


def test_number_formats_are_consistent():
    assert percent(0.998) == "100%" and percent(1.0) == "100%" and percent(0.5) == "50%"
    assert dice(1.0) == "1.00" and dice(0.998) == "1.00" and dice(None) == "–"
    assert gain(0.0123) == "+0.012" and gain(0) == "+0.000"
