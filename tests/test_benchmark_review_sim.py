"""benchmark.review_sim: the simulated reviewer through ReviewSession, orders, cleanlab regions."""

import numpy as np
import pytest

from napari_noisyfix.benchmark import review_sim
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


def test_simulate_records_dice_at_each_budget(tmp_path):
    project, truth = _review_project(tmp_path)
    regions = [_region("a#0", (12, 12, 18, 18), 1), _region("a#1", (2, 8, 8, 10), 1)]
    steps = review_sim.budgets(2, (0.5, 1.0))
    assert steps == {0.5: 1, 1.0: 2}
    sim = drive(
        review_sim.simulate(project, regions, ["a#1", "a#0"], {"a": truth}, steps), quiet=True
    )
    assert sim["dice_before"] == pytest.approx(2 * 36 / (2 * 36 + 12 + 36))
    assert sim["dice"][0.5] == pytest.approx(2 * 36 / (2 * 36 + 36))  # the strip painted away
    assert sim["dice"][1.0] == 1.0
    assert sim["actions"] == {"edit": 1, "accept": 1} and sim["reviewed"] == 2
    out = review_sim.review_results("random", sim, sim["dice_before"])
    assert out["review.gap_recovered.random.1.00"] == pytest.approx(1.0)
    assert out["review.share.random.accept"] == 0.5


def test_random_order_is_a_seeded_permutation():
    regions = [_region(f"a#{i}", (0, 0, 2, 2), 1) for i in range(6)]
    order = review_sim.random_order(regions, 3)
    assert sorted(order) == [r.id for r in regions]
    assert order == review_sim.random_order(regions, 3) != review_sim.random_order(regions, 4)
