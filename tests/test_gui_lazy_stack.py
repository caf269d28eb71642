"""LazyStack: what napari's layers read and write, one image at a time."""

import numpy as np
import pytest

from napari_noisyfix.gui.lazy_stack import CACHE, LazyStack

IMAGES = {f"im{i}": np.full((3 + i % 2, 4), i, np.uint8) for i in range(12)}


def make(editable=False):
    read = []

    def load(name):
        read.append(name)
        return IMAGES[name]

    return LazyStack(list(IMAGES), (4, 5), load, np.uint8, editable=editable), read


def test_reads_only_the_slices_asked_for_padded_to_the_canvas():
    stack, read = make()
    assert stack.shape == (12, 4, 5) and stack.ndim == 3 and stack.size == 240
    plane = np.asarray(stack[3])
    assert plane.shape == (4, 5) and (plane[:, :4] == 3).all() and not plane[:, 4].any()
    assert read == ["im3"]
    assert stack[3, 1, 2] == 3 and stack[(2, slice(0, 2))].shape == (2, 5)
    assert read == ["im3", "im2"]  # im3 again came from the cache
    assert np.array_equal(stack[-1], stack[11])
    picked = stack[np.array([5, 7, 5]), np.array([0, 1, 2]), np.array([1, 1, 4])]
    assert picked.tolist() == [5, 7, 0]
    for i in range(CACHE + 2):
        stack.plane(i)
    assert len(stack._cache) == CACHE
    assert np.array_equal(np.asarray(stack)[:, :3, :4], np.stack([a[:3] for a in IMAGES.values()]))
    with pytest.raises(IndexError):
        stack[12]
    with pytest.raises(ValueError, match="read-only"):
        stack[0, 0, 0] = 1


def test_writes_stay_in_memory_until_the_plane_shows_what_is_saved():
    stack, read = make(editable=True)
    stack[np.array([2, 2, 6]), np.array([0, 1, 0]), np.array([0, 0, 3])] = 9  # data_setitem
    stack[(slice(4, 5), slice(0, 2), slice(0, 2))] = np.ones((1, 2, 2), np.uint8)  # the brush
    assert sorted(stack.edits) == [2, 4, 6]
    assert stack[2, 0, 0] == stack[2, 1, 0] == 9 and stack[2, 2, 0] == 2
    assert stack[4, 1, 1] == 1 and stack[4, 2, 2] == 4
    for i in range(12):  # the written planes outlive the cache
        stack.plane(i)
    assert stack[6, 0, 3] == 9
    saved = IMAGES["im4"].copy()
    assert not stack.settle(4, saved)  # it holds strokes not saved
    saved[:2, :2] = 1
    assert stack.settle(4, saved) and 4 not in stack.edits
    assert stack[4, 1, 1] == 1
