"""benchmark.review_sim: the simulated reviewer through ReviewSession, orders, cleanlab regions."""

import numpy as np
import pytest

from napari_noisyfix.benchmark import review_metrics, review_sim
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.region import Region


def test_cleanlab_regions_group_issues_and_rank_worst_image_first():
    issues = np.zeros((2, 20, 20), bool)
    issues[0, 2:4, 2:4] = True
    issues[1, 2:4, 2:4] = True
    issues[1, 10:16, 10:16] = True
    issues[1, 10, 17] = True  # one pixel gap from the big group: same region
    probs = np.zeros((2, 2, 20, 20))
    probs[:, 1] = issues * 0.9
    probs[:, 0] = 1 - probs[:, 1]
    given = np.zeros((2, 20, 20), np.uint8)
    regions = review_sim.cleanlab_regions(["a", "b"], issues, probs, given, np.array([0.1, 0.8]))
    assert [r.image for r in regions] == ["b", "b", "a"]
    assert [r.area for r in regions] == [37, 4, 4]
    assert regions[0].kind == "missing" and (regions[0].proposal[regions[0].region] == 1).all()


def _review_project(tmp_path):
    truth = np.zeros((20, 20), np.uint8)
    truth[2:8, 2:8] = 1
    truth[12:18, 12:18] = 1
    noisy = truth.copy()
    noisy[12:18, 12:18] = 0  # dropped object
    noisy[2:8, 8:10] = 1  # too wide
    project = Project.create(tmp_path / "p", {"a": truth * 200}, {"a": noisy}, truth={"a": truth})
    return project, truth


def _region(rid, bbox, proposal_value):
    r0, c0, r1, c1 = bbox
    shape = (r1 - r0, c1 - c0)
    return Region(
        rid,
        "a",
        "missing",
        1,
        0.9,
        0.9,
        10.0,
        shape[0] * shape[1],
        bbox,
        np.ones(shape, bool),
        np.full(shape, proposal_value, np.uint8),
    )


def test_review_region_accepts_edits_and_rejects_like_an_expert(tmp_path):
    from napari_noisyfix.review.session import ReviewSession

    project, truth = _review_project(tmp_path)
    good = _region("a#0", (12, 12, 18, 18), 1)  # restores the dropped object
    bad = _region("a#1", (2, 8, 8, 10), 1)  # keeps the too-wide strip: not closer
    right = _region("a#2", (0, 14, 2, 20), 1)  # given mask already right there
    session = ReviewSession(project, "sim", regions=[good, bad, right])
    assert review_sim.review_region(session, good, truth) == "accept"
    assert review_sim.review_region(session, bad, truth) == "edit"
    assert review_sim.review_region(session, right, truth) == "reject"
    assert np.array_equal(project.mask("a"), truth)
    assert [r["action"] for r in project.log.rows("review")] == ["accept", "edit", "reject"]


def test_simulate_records_dice_after_each_action(tmp_path):
    project, truth = _review_project(tmp_path)
    regions = [_region("a#0", (12, 12, 18, 18), 1), _region("a#1", (2, 8, 8, 10), 1)]
    sim = drive(review_sim.simulate(project, regions, ["a#1", "a#0"], {"a": truth}, 5), quiet=True)
    assert sim["dice_before"] == pytest.approx(2 * 36 / (2 * 36 + 12 + 36))
    assert sim["trace"] == pytest.approx([2 * 36 / (2 * 36 + 36), 1.0])  # strip painted away
    assert sim["actions"] == ["edit", "accept"]  # the regions ran out before 5 actions
    out = review_metrics.review_results("random", sim, {0.5: 1, 1.0: 5})
    assert out["review.gap_recovered.random.0.50"] == pytest.approx((72 / 108 - 0.6) / 0.4)
    assert out["review.gap_recovered.random.1.00"] == pytest.approx(1.0)
    assert out["review.share.random.accept"] == 0.5 and out["review.reviewed.random"] == 2
    project, truth = _review_project(tmp_path / "capped")
    one = drive(review_sim.simulate(project, regions, None, {"a": truth}, 1), quiet=True)
    assert len(one["actions"]) == len(one["trace"]) == 1  # stops at the budget


def _squares_project(tmp_path, n=12):
    """One image whose truth has ``n`` 3x3 squares, all dropped from the given mask."""
    truth = np.zeros((8, 4 * n), np.uint8)
    for k in range(n):
        truth[2:5, 4 * k : 4 * k + 3] = 1
    given = np.zeros_like(truth)
    project = Project.create(tmp_path / "sq", {"a": truth * 200}, {"a": given}, truth={"a": truth})
    return project, truth


def test_top10_precision_counts_the_proposals_the_reviewer_accepts(tmp_path):
    project, truth = _squares_project(tmp_path)
    # regions restoring square k (good) or proposing background again (bad: not closer)
    good = {0, 1, 2, 4, 5, 7, 8, 10, 11}  # 7 of the first 10 are good
    regions = [_region(f"a#{k}", (2, 4 * k, 5, 4 * k + 3), int(k in good)) for k in range(12)]
    order = [r.id for r in regions]
    sim = drive(review_sim.simulate(project, regions, order, {"a": truth}, 12), quiet=True)
    assert review_metrics.top_precision(sim["actions"]) == 0.7
    assert sim["actions"][:4] == ["accept", "accept", "accept", "edit"]
    assert sim["trace"][-1] == 1.0  # every bad proposal was painted over with the truth
    project, truth = _squares_project(tmp_path / "short", 3)
    regions = [_region(f"a#{k}", (2, 4 * k, 5, 4 * k + 3), int(k != 1)) for k in range(3)]
    sim = drive(review_sim.simulate(project, regions, None, {"a": truth}, 10), quiet=True)
    assert review_metrics.top_precision(sim["actions"]) == pytest.approx(2 / 3)  # 3 regions


def test_random_order_is_a_seeded_permutation():
    regions = [_region(f"a#{i}", (0, 0, 2, 2), 1) for i in range(6)]
    order = review_sim.random_order(regions, 3)
    assert sorted(order) == [r.id for r in regions]
    assert order == review_sim.random_order(regions, 3) != review_sim.random_order(regions, 4)


def _object_region(rid, image, kind, pixels, proposal):
    """A region over ``pixels`` (image-shaped bool) proposing ``proposal`` (image-shaped)."""
    rows, cols = np.nonzero(pixels)
    r0, c0, r1, c1 = rows.min(), cols.min(), rows.max() + 1, cols.max() + 1
    box = (slice(r0, r1), slice(c0, c1))
    return Region(
        rid, image, kind, 1, 0.9, 0.9, 10.0, int(pixels.sum()), (r0, c0, r1, c1),
        pixels[box].copy(), np.asarray(proposal, np.uint8)[box].copy(),
    )  # fmt: skip


def test_review_keeps_object_ids_on_an_instance_project(tmp_path):
    from instance_samples import image_of, merged_ids, split_ids, truth_ids

    from napari_noisyfix.instance_labels import wrong_pixels
    from napari_noisyfix.review.session import ReviewSession

    truth = truth_ids()
    given = {"b": merged_ids(), "c": split_ids()}
    truths = dict.fromkeys(given, truth)
    images = {n: image_of(truth) for n in given}
    project = Project.create(tmp_path / "i", images, given, truth=truths, labels="instance")
    pair = np.isin(truth, [5, 6])
    split_back = _object_region("b#0", "b", "merged", pair, np.where(truth == 6, 2, pair))
    lone = _object_region("c#0", "c", "missing", truth == 1, truth == 1)  # right already
    dropped = _object_region("c#1", "c", "spurious", truth == 4, np.zeros_like(truth))
    session = ReviewSession(project, "sim", regions=[split_back, lone, dropped])
    assert review_sim.review_region(session, split_back, truth) == "accept"
    assert review_sim.review_region(session, lone, truth) == "reject"
    # dropping the split object is worse: the reviewer paints the true object under its own id
    assert review_sim.review_region(session, dropped, truth) == "edit"
    for name in given:
        ids = project.labels(name)
        assert ids.dtype == np.uint16 and not wrong_pixels(ids, truth).any()
        assert len(np.unique(ids)) == len(np.unique(truth))  # six objects, ids kept
    # the larger piece (id 7, 82 of 149 pixels) keeps its id; the other piece joins it
    assert np.array_equal(project.labels("c"), np.where(truth == 4, 7, truth))
