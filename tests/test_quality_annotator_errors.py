"""Planted errors of each annotator-style noise type are found by the scoring of a project."""

import numpy as np
import pytest

from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_image_scores, load_maps, score_project
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask
from napari_noisyfix.synth.annotator_noise import REALISTIC_KINDS, corrupt

CENTRES = [(12, 12), (12, 40), (30, 14), (32, 40), (52, 20), (52, 33)]


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rng = np.random.default_rng(5)
    images, masks, truths, kinds = {}, {}, {}, {}
    for i in range(21):
        name = f"im{i:02d}"
        truth = disk_mask((64, 64), CENTRES, rng.integers(5, 8, len(CENTRES)))
        mask = truth.copy()
        if i < len(REALISTIC_KINDS):
            kinds[name] = REALISTIC_KINDS[i]
            mask = corrupt(REALISTIC_KINDS[i], truth > 0, np.random.default_rng(i))[0]
        truths[name], masks[name] = truth, mask.astype(np.uint8)
        images[name] = (truth * 150 + rng.integers(0, 50, truth.shape)).astype(np.uint8)
    project = Project.create(tmp_path_factory.mktemp("ann") / "p", images, masks, truth=truths)
    version, _ = project.new_model_dir()
    for i, name in enumerate(project.names):
        project.save_probs(version, name, probs_from_mask(truths[name], noise=0.02, seed=i))
    drive(score_project(project), quiet=True)
    return project, kinds


@pytest.mark.parametrize("kind", REALISTIC_KINDS)
def test_each_annotator_error_ranks_its_mask_above_the_clean_ones(scored, kind):
    project, kinds = scored
    rows = {r["image"]: r for r in load_image_scores(project)}
    name = next(n for n, k in kinds.items() if k == kind)
    assert np.any(project.mask(name) != project.truth(name))
    clean = [rows[n]["error_score"] for n in project.names if n not in kinds]
    assert rows[name]["error_score"] > max(clean)
    wrong = project.mask(name) != project.truth(name)
    errors = load_maps(project, name)["error_score"]
    assert errors[wrong].mean() > 3 * errors[~wrong].mean()
