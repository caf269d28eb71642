"""The review queue orders by expected gain, drops reviewed regions and re-ranks."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.queue import ReviewQueue, expected_gain
from napari_noisyfix.quality.region import Region


def _region(rid, image, area, prob, score=0.5, at=(0, 0), change=0.1):
    side = int(np.ceil(np.sqrt(area)))
    pixels = np.zeros((side, side), bool)
    pixels.flat[:area] = True
    return Region(
        id=rid,
        image=image,
        kind="missing",
        cls=1,
        score=score,
        prob_correct=prob,
        gain=area * prob,
        area=area,
        bbox=(at[0], at[1], at[0] + side, at[1] + side),
        region=pixels,
        proposal=np.ones((side, side), np.uint8),
        dice_gain=prob * change,
    )


def test_large_confident_error_comes_before_small_doubtful_one():
    small = _region("a#0", "a", area=6, prob=0.55, score=0.55)
    large = _region("b#0", "b", area=120, prob=0.95, score=0.9)
    queue = ReviewQueue([small, large])
    assert [r.id for r in queue] == ["b#0", "a#0"]
    assert expected_gain(large) == pytest.approx(0.095)
    assert queue.total_gain() == pytest.approx(114.0 + 3.3)


def test_the_queue_orders_by_the_images_dice_gain_not_by_pixels():
    """A wrong object in a mask of few objects changes its image's Dice more than a larger sliver
    of a mask with many: label quality is judged per image."""
    sliver = _region("a#0", "a", area=200, prob=0.9, change=0.02)
    nucleus = _region("b#0", "b", area=40, prob=0.9, change=0.3)
    assert [r.id for r in ReviewQueue([sliver, nucleus])] == ["b#0", "a#0"]


def test_reviewed_regions_leave_the_queue_and_rerank_keeps_them_out():
    reg = _region("a#0", "a", area=16, prob=0.9)
    other = _region("a#1", "a", area=16, prob=0.8, at=(10, 10))
    reviewed = np.zeros((20, 20), bool)
    reviewed[:4, :4] = True
    queue = ReviewQueue([reg, other], reviewed={"a": reviewed})
    assert [r.id for r in queue] == ["a#1"]
    queue.rerank([reg, other, _region("b#0", "b", area=30, prob=0.9)])
    assert [r.id for r in queue] == ["b#0", "a#1"]
    queue.mark_reviewed("b", np.ones((8, 8), bool))
    assert [r.id for r in queue] == ["a#1"] and queue.index("a#1") == 0
    assert queue.get("a#1") is other and queue.for_image("b") == []


def test_unknown_region_and_bad_reviewed_map():
    queue = ReviewQueue([_region("a#0", "a", area=16, prob=0.9)])
    with pytest.raises(NoisyFixError, match="a#9"):
        queue.get("a#9")
    with pytest.raises(NoisyFixError, match="reviewed map"):
        ReviewQueue(
            [_region("a#0", "a", area=16, prob=0.9, at=(5, 5))],
            reviewed={"a": np.zeros((2, 2), bool)},
        )


def test_regions_more_likely_wrong_than_right_stay_out_of_the_queue():
    likely = _region("a#0", "a", area=16, prob=0.8)
    doubtful = _region("a#1", "a", area=400, prob=0.3, change=0.5)  # larger gain, likely wrong
    assert [r.id for r in ReviewQueue([likely, doubtful])] == ["a#0"]
    assert [r.id for r in ReviewQueue([likely, doubtful], min_prob=0.0)] == ["a#1", "a#0"]
