"""The quality stage's fixed parameters: one frozen object, read by the modules that use them."""

import dataclasses
import inspect

import numpy as np
import pytest

from napari_noisyfix.quality import outliers, prior_shift, queue, verdict
from napari_noisyfix.quality.calibration import fit_calibration
from napari_noisyfix.quality.image_score import softmin_quality
from napari_noisyfix.quality.params import PARAMS, QualityParams


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMS.finder = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMS.finder.min_overlap = 0.5


def test_every_group_is_a_documented_frozen_dataclass():
    for f in dataclasses.fields(QualityParams):
        group = getattr(PARAMS, f.name)
        assert dataclasses.is_dataclass(group) and type(group).__dataclass_params__.frozen
        doc = inspect.getdoc(type(group))
        for name in (g.name for g in dataclasses.fields(group)):
            assert name in doc, f"{type(group).__name__}.{name} is not documented"
            assert not isinstance(getattr(group, name), list | dict | set | np.ndarray)


def test_defaults_are_the_values_the_modules_used():
    assert PARAMS.finder.min_overlap == 0.2
    assert PARAMS.finder.shift_balance == 0.3
    assert PARAMS.whole_mask.min_weight == 0.5
    assert PARAMS.whole_mask.coarse_angles == tuple(range(-15, 16, 5))
    assert isinstance(PARAMS.whole_mask.fine_range, int)
    assert PARAMS.queue.min_prob_correct == 0.5
    assert PARAMS.evidence.systematic_floor == 0.7
    assert PARAMS.outliers.z_threshold == 3.5
    assert PARAMS.scoring.default_threshold == 0.5
    assert PARAMS.calibration.scales == (1, 2, 4)
    assert PARAMS.calibration.folds == 2
    assert np.array_equal(prior_shift.EDGES, np.linspace(-12.0, 12.0, 481))


def test_default_arguments_come_from_params():
    def default(func, name):
        return inspect.signature(func).parameters[name].default

    assert default(outliers.find_outliers, "z_threshold") == PARAMS.outliers.z_threshold
    assert default(outliers.find_outliers, "tiny") == PARAMS.outliers.tiny_cluster
    assert default(queue.ReviewQueue, "min_prob") == PARAMS.queue.min_prob_correct
    assert default(softmin_quality, "temperature") == PARAMS.evidence.softmin_temperature
    assert default(fit_calibration, "params") is PARAMS.calibration
    assert default(verdict.Verdict.judge, "params") is PARAMS.verdict
