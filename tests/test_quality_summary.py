"""The scoring summary in plain words: how much more (or less) foreground the model draws."""

import numpy as np

from napari_noisyfix.quality.prior_shift import logodds_histogram
from napari_noisyfix.quality.summary import area_text, model_area_ratio, score_summary
from napari_noisyfix.quality.verdict import Verdict


def _probs(fg: np.ndarray) -> np.ndarray:
    p1 = np.where(fg, 0.9, 0.1).astype(np.float32)
    return np.stack([1 - p1, p1])


def test_the_area_ratio_is_model_over_labelled_foreground_in_the_median_image():
    label = np.zeros((20, 20), bool)
    label[:10] = True  # 200 labelled pixels
    wider = label.copy()
    wider[10:12] = True  # the model draws 240: 20% more
    hists, counts = zip(*[logodds_histogram(_probs(wider), label) for _ in range(3)], strict=True)
    assert np.isclose(model_area_ratio(np.array(hists), np.array(counts)), 1.2)
    empty = logodds_histogram(_probs(wider), np.zeros_like(label))
    assert np.isnan(model_area_ratio(np.array([empty[0]]), np.array([empty[1]])))


def test_area_text_says_more_less_or_as_much():
    assert area_text(1.234) == "the model draws 23% more foreground than the labels"
    assert area_text(0.8) == "the model draws 20% less foreground than the labels"
    assert area_text(1.001) == "the model draws as much foreground as the labels"
    assert area_text(float("nan")) == "no image has labelled foreground"


def test_summary_has_no_jargon_line_and_ends_with_the_warning():
    label = np.zeros((8, 8), bool)
    label[:4] = True
    hist, count = logodds_histogram(_probs(label), label)
    weak = Verdict.judge(image_auroc=0.55, region_auroc=0.5, small_auroc=0.5, dice_r=0.1)
    text = score_summary(3, 1, 2, 0, model_area_ratio(np.array([hist]), np.array([count])), weak)
    lines = text.splitlines()
    assert lines[0] == (
        "v0003: rescored 1 of 2 images, 0 outliers; the model draws as much foreground as "
        "the labels (median image)"
    )
    assert lines[-1] == weak.warning and text.count("What would help") == 1
