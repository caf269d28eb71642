"""benchmark.dataset and benchmark.budget: working shape and budgets."""

import pytest

from napari_noisyfix.benchmark.budget import get_budget
from napari_noisyfix.benchmark.dataset import working_shape
from napari_noisyfix.errors import NoisyFixError


def test_budgets_and_working_shape():
    assert get_budget("tiny").size == 64
    with pytest.raises(NoisyFixError, match="unknown budget"):
        get_budget("huge")
    assert working_shape([(256, 320)] * 3 + [(200, 200)], 128) == (128, 160)
    assert working_shape([(256, 256)], 128) == (128, 128)
