"""Instance ids kept through edits, the auto decision, merge / split noise and planting."""

import numpy as np
import pytest
from instance_samples import merged_ids, split_ids, truth_ids

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.instance_labels import (
    blob_counts,
    check_ids,
    decide,
    misassigned,
    reconcile,
    touching_pairs,
)
from napari_noisyfix.quality.planting import plant_instances
from napari_noisyfix.synth.instance_noise import corrupt_instances, merge, near_pairs, split
from napari_noisyfix.synth.noise import corrupt_dataset, corrupt_mask, parse_kinds


def test_decide_reads_many_one_blob_ids_as_instances_and_binary_masks_as_semantic():
    mode, why = decide([truth_ids(), merged_ids()], "auto")
    assert mode == "instance" and "median 5.5 ids per mask" in why and "100%" in why
    binary = [(truth_ids() > 0).astype(np.uint8) * 255] * 2
    assert decide(binary, "auto")[0] == "semantic"
    assert decide(binary, "instance") == ("instance", "as asked (--labels instance)")
    with pytest.raises(NoisyFixError, match="choose one of semantic, instance, auto"):
        decide(binary, "objects")


def test_blob_counts_and_checks():
    ids = truth_ids()
    ids[0, 0] = 1  # id 1 now has a second blob
    assert blob_counts(ids) == (6, 5)
    with pytest.raises(NoisyFixError, match="f.png: instance ids -1..1 outside 0..65535"):
        check_ids(np.array([[-1, 1]]), "f.png")
    assert check_ids(np.array([[0, 300]]), "f.png").dtype == np.uint16


def test_reconcile_keeps_ids_grows_neighbours_and_gives_new_blobs_fresh_ids():
    ids = truth_ids()
    union = ids > 0
    union[12, 19] = True  # next to object 1 (disk at (12, 12) radius 6)
    union[2:5, 30:33] = True  # a new blob far from every object
    union[ids == 2] = False  # object 2 erased
    out = reconcile(ids, union)
    assert out[12, 19] == 1
    assert set(np.unique(out[2:5, 30:33])) == {7}
    assert not (out == 2).any()
    keep = (ids > 0) & union
    assert np.array_equal(out[keep], ids[keep])


def test_touching_pairs_and_misassigned_pixels():
    assert touching_pairs(truth_ids()) == {(5, 6)}
    truth = truth_ids()
    wrong = misassigned(merged_ids(), truth)
    assert (
        wrong.any() and set(np.unique(truth[wrong])) <= {5, 6} and len(np.unique(truth[wrong])) == 1
    )
    pieces = split_ids()
    smaller = 4 if (pieces == 4).sum() < (pieces == 7).sum() else 7
    assert np.array_equal(misassigned(pieces, truth), pieces == smaller)  # the smaller is wrong
    assert not misassigned(truth, truth).any()


def test_merge_noise_draws_neighbours_as_one_object():
    truth = truth_ids()
    out, params = merge(truth, np.random.default_rng(0), 1)
    assert params == {"pairs": [[5, 6]]}
    assert not (out == 6).any() and np.array_equal(out[truth == 6], np.full((truth == 6).sum(), 5))
    assert np.array_equal(out[truth > 0] > 0, np.ones((truth > 0).sum(), bool))
    gap = (out > 0) & (truth == 0)  # only the narrow gap between the two may be filled
    assert gap.sum() < 20 and set(np.unique(out[gap])) <= {5}
    assert near_pairs(truth) == [(5, 6)]


def test_split_noise_cuts_an_object_in_two_touching_pieces():
    truth = truth_ids()
    out, params = split(truth, np.random.default_rng(1), 2)
    assert len(params["objects"]) == 2
    assert np.array_equal(out > 0, truth > 0)
    for old, new in params["objects"]:
        assert new > 6 and (out == old).any() and (out == new).any()
        assert (old, new) in touching_pairs(out)


def test_corrupt_dataset_on_instances_keeps_ids_and_logs_the_type():
    masks = {f"m{i}": truth_ids() for i in range(4)}
    noisy, log = corrupt_dataset(masks, 1.0, seed=3, kinds="instance", instances=True)
    assert {row["type"] for row in log} <= {"merge", "split"} and all(r["corrupted"] for r in log)
    assert all(m.dtype == np.uint16 for m in noisy.values())
    other, info = corrupt_instances(truth_ids(), np.random.default_rng(0), "drop")
    assert info["type"] == "drop" and set(np.unique(other)) < set(np.unique(truth_ids()))
    assert ("merge",) in parse_kinds("instance")
    with pytest.raises(NoisyFixError, match="needs instance masks"):
        corrupt_mask(truth_ids() > 0, np.random.default_rng(0), kind="split")


def test_plant_instances_plants_merges_and_splits_among_the_other_types():
    kinds = set()
    for seed in range(40):
        planted, kind = plant_instances(truth_ids(), np.random.default_rng(seed))
        if kind is not None:
            kinds.add(kind)
            assert planted.dtype == np.uint16 and not np.array_equal(planted, truth_ids())
    assert {"merge", "split"} <= kinds and len(kinds) > 3
