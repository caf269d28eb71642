"""Instance errors in the queue: a planted merge is flagged ``merged`` and split by its proposal,
a planted split is flagged ``split`` and merged back; review keeps the other objects' ids."""

import shutil

import numpy as np
import pytest
from instance_samples import merged_ids, scored_project, split_ids, truth_ids

from napari_noisyfix.project import Project
from napari_noisyfix.quality.instances import instance_regions
from napari_noisyfix.quality.region import Region
from napari_noisyfix.quality.score import load_regions
from napari_noisyfix.quality.synthetic import probs_from_mask
from napari_noisyfix.review.session import ReviewSession


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    return scored_project(tmp_path_factory.mktemp("scored") / "p")


@pytest.fixture
def project(scored, tmp_path):
    """A fresh copy of the scored project for each test (reviews write to it)."""
    shutil.copytree(scored, tmp_path / "p")
    with Project.open(tmp_path / "p") as proj:
        yield proj


def _one(regions, image, kind):
    found = [r for r in regions if r.image == image and r.kind == kind]
    assert len(found) == 1, [(r.image, r.kind) for r in regions]
    return found[0]


def test_finder_flags_the_merge_and_the_split_and_nothing_on_true_objects():
    probs = probs_from_mask((truth_ids() > 0).astype(np.uint8))
    model = truth_ids() > 0
    assert instance_regions("t", probs, truth_ids(), model, 3) == []
    (merged,) = instance_regions("m", probs, merged_ids(), model, 3)
    assert merged.kind == "merged" and set(np.unique(merged.proposal[merged.region])) == {1, 2}
    (split,) = instance_regions("s", probs, split_ids(), model, 3)
    assert split.kind == "split" and "2 pieces touching" in split.detail


def test_planted_merge_is_flagged_and_accepting_splits_it(project):
    region = _one(load_regions(project), "b", "merged")
    assert region.reason.startswith("one object drawn where there are several; 2 objects by")
    assert 0.0 < region.prob_correct <= 1.0 and region.features is not None
    session = ReviewSession(project, "ann")
    action = session.accept(region.id)
    ids = project.labels("b")
    truth = truth_ids()
    assert action.pixels_changed > 0 and ids.dtype == np.uint16
    pair = ids[(truth == 5) | (truth == 6)]
    assert len(np.unique(pair)) == 2 and 5 in pair  # the old id kept by one piece, a fresh one
    assert np.mean(ids[truth == 6] == ids[truth == 6][0]) > 0.9  # the other nucleus whole
    lone = truth_ids() <= 4
    assert np.array_equal(ids[lone], truth[lone])  # every other object keeps its id
    assert np.array_equal(project.mask("b"), (truth > 0).astype(np.uint8))  # union unchanged
    session.undo()
    assert np.array_equal(project.labels("b"), merged_ids())
    session.redo()
    assert len(np.unique(project.labels("b")[(truth == 5) | (truth == 6)])) == 2


def test_planted_split_is_flagged_and_accepting_merges_it_back(project):
    region = _one(load_regions(project), "c", "split")
    session = ReviewSession(project, "ann")
    session.accept(region.id)
    ids = project.labels("c")
    assert len(np.unique(ids[truth_ids() == 4])) == 1  # the two pieces are one object again
    assert set(np.unique(ids)) in ({0, 1, 2, 3, 4, 5, 6}, {0, 1, 2, 3, 5, 6, 7})
    rest = (truth_ids() > 0) & (truth_ids() != 4)
    assert np.array_equal(ids[rest], truth_ids()[rest])
    assert region.prob_correct > 0.5 and region.id in {r.id for r in session.regions}


def test_reject_and_edits_keep_ids_and_new_objects_get_fresh_ids(project):
    session = ReviewSession(project, "ann")
    region = _one(load_regions(project), "b", "merged")
    session.reject(region.id)
    assert np.array_equal(project.labels("b"), merged_ids())
    assert project.reviewed("b")[merged_ids() == 5].all()
    edit = project.labels("a").astype(np.int32)
    edit[1:4, 28:32] = 40  # a new object painted with a brush label
    edit[truth_ids() == 2] = 0  # object 2 erased
    session.commit_edit("a", edit)
    ids = project.labels("a")
    assert ids.dtype == np.uint16 and set(np.unique(ids)) == {0, 1, 3, 4, 5, 6, 40}
    reopened = Project.open(project.root, mode="read")
    assert np.array_equal(reopened.labels("a"), ids)


def test_accepting_a_semantic_region_keeps_ids(project):
    kept = project.labels("a")
    blob = np.zeros(kept.shape, bool)
    blob[2:5, 28:33] = True
    grown = blob.copy()
    grown[12, 19] = True  # next to object 1
    region = Region(
        id="a#x", image="a", kind="missing", cls=1, score=0.9, prob_correct=0.9, gain=16.0,
        area=16, bbox=(0, 0, 64, 64), region=grown, proposal=np.ones(kept.shape, np.uint8),
    )  # fmt: skip
    session = ReviewSession(project, "ann", regions=[region])
    session.accept("a#x")
    out = project.labels("a")
    assert set(np.unique(out[blob])) == {7} and out[12, 19] == 1
    assert np.array_equal(out[kept > 0], kept[kept > 0])
