"""ReviewSession: actions on disk and in the log, undo/redo, accept-all, progress, crash resume."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.project import Project
from napari_noisyfix.quality.region import Region
from napari_noisyfix.review import ReviewSession


def square_region(image, k, r0, c0, size, value, gain, score=0.8, helps=0.9):
    region = np.ones((size, size), bool)
    proposal = np.full((size, size), value, np.uint8)
    bbox = (r0, c0, r0 + size, c0 + size)
    kind = "missing" if value else "spurious"
    return Region(
        f"{image}#{k}",
        image,
        kind,
        1,
        score,
        helps,
        gain,
        size * size,
        bbox,
        region,
        proposal,
    )


def make_project(root):
    images = {
        f"img{i}": np.random.default_rng(i).random((32, 32)).astype(np.float32) for i in range(3)
    }
    masks = {n: np.zeros((32, 32), np.uint8) for n in images}
    for m in masks.values():
        m[20:28, 20:28] = 1
    project = Project.create(root, images, masks)
    for n in images:
        probs = np.full((2, 32, 32), 0.5, np.float32)
        project.save_probs(1, n, probs)
    return project


def regions_for(project):
    return [
        square_region("img0", 0, 2, 2, 6, 1, gain=0.9, score=0.9, helps=0.9),
        square_region("img0", 1, 20, 20, 4, 0, gain=0.5, score=0.6, helps=0.6),
        square_region("img1", 0, 10, 10, 5, 1, gain=0.7, score=0.75, helps=0.75),
        square_region("img2", 0, 0, 0, 4, 1, gain=0.2, score=0.3, helps=0.55),
    ]


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


def open_session(project, reviewer="dr-a"):
    return ReviewSession(project, reviewer, version=1, regions=regions_for(project))


def test_queue_order_and_navigation(project):
    s = open_session(project)
    assert [r.id for r in s.queue] == ["img0#0", "img1#0", "img0#1", "img2#0"]
    assert s.current.id == "img0#0"
    assert s.next().id == "img1#0"
    assert s.previous().id == "img0#0"
    assert s.previous().id == "img2#0"  # wraps
    assert s.goto("img0#1").id == "img0#1"
    with pytest.raises(NoisyFixError, match="no flagged region"):
        s.goto("nope#1")


def test_reviewer_required(project):
    with pytest.raises(NoisyFixError, match="reviewer"):
        ReviewSession(project, "  ", version=1, regions=[])


def test_accept_writes_mask_reviewed_and_log(project):
    s = open_session(project)
    action = s.accept()
    assert action.pixels_changed == 36
    mask = project.mask("img0")
    assert mask[2:8, 2:8].all() and mask[20:28, 20:28].all()
    assert project.reviewed("img0")[2:8, 2:8].all() and project.reviewed("img0").sum() == 36
    assert (project.original_mask("img0")[2:8, 2:8] == 0).all()
    rows = project.log.rows("review")
    assert rows[-1]["action"] == "accept" and rows[-1]["region"] == "img0#0"
    assert rows[-1]["reviewer"] == "dr-a" and rows[-1]["model_version"] == 1
    assert rows[-1]["pixels_changed"] == 36 and rows[-1]["image"] == "img0"
    assert s.status["img0#0"] == "accepted"
    assert s.current.id == "img1#0"
    assert "img0#0" not in [r.id for r in s.queue]


def test_reject_keeps_mask_and_marks_reviewed(project):
    s = open_session(project)
    s.reject("img0#1")
    assert np.array_equal(project.mask("img0"), project.original_mask("img0"))
    assert not project.has_correction("img0")
    assert project.reviewed("img0")[20:24, 20:24].all()
    row = project.log.rows("review")[-1]
    assert (row["action"], row["pixels_changed"], row["region"]) == ("reject", 0, "img0#1")
    assert s.status["img0#1"] == "rejected"


def test_skip_logs_and_moves_on(project):
    s = open_session(project)
    assert s.skip().id == "img1#0"
    assert s.status["img0#0"] == "skipped"
    assert "img0#0" in [r.id for r in s.queue]
    assert project.log.rows("review")[-1]["action"] == "skip"


def test_edit_then_undo_redo(project):
    s = open_session(project)
    edited = project.mask("img1")
    edited[0:3, 0:3] = 1
    action = s.commit_edit("img1", edited, region_id="img1#0")
    assert action.pixels_changed == 9
    assert np.array_equal(project.mask("img1"), edited)
    assert project.reviewed("img1")[10:15, 10:15].all() and project.reviewed("img1")[0, 0]
    assert s.status["img1#0"] == "edited"
    s.undo()
    assert np.array_equal(project.mask("img1"), project.original_mask("img1"))
    assert not project.reviewed("img1").any()
    assert s.status["img1#0"] == "pending" and s.current.id == "img1#0"
    s.redo()
    assert np.array_equal(project.mask("img1"), edited)
    assert project.reviewed("img1").sum() == 25 + 9
    actions = [r["action"] for r in project.log.rows("review")]
    assert actions == ["edit", "undo", "redo"]
    assert s.undo() is not None and s.undo() is None


def test_edit_shape_checked(project):
    s = open_session(project)
    with pytest.raises(NoisyFixError, match="img1"):
        s.commit_edit("img1", np.zeros((4, 4), np.uint8))
    with pytest.raises(NoisyFixError, match="belongs to img0"):
        s.commit_edit("img1", project.mask("img1"), region_id="img0#0")


def test_accept_all_preview_then_apply_as_one_action(project):
    s = open_session(project)
    preview = s.accept_all(0.7, preview=True)
    assert preview == {"regions": 2, "images": 2, "pixels": 36 + 25, "precision": 0.825}
    assert not project.has_correction("img0")
    assert s.accept_all(0.7) == preview
    assert project.mask("img0")[2:8, 2:8].all() and project.mask("img1")[10:15, 10:15].all()
    rows = project.log.rows("review")
    assert len(rows) == 1 and rows[0]["action"] == "accept_all"
    assert rows[0]["details"]["regions"] == ["img0#0", "img1#0"]
    assert rows[0]["pixels_changed"] == 61
    s.undo()
    assert not project.mask("img0")[2:8, 2:8].any() and not project.mask("img1")[10:15, 10:15].any()


def test_progress_and_quality(project):
    s = open_session(project)
    p0 = s.progress()
    assert (p0.regions_reviewed, p0.regions_total, p0.images_reviewed, p0.images_total) == (
        0,
        4,
        0,
        3,
    )
    # probs 0.5 everywhere: expected Dice = 2 * 0.5 * 64 / (64 + 512) per image
    assert p0.label_quality == pytest.approx(64 / 576)
    s.reject("img0#1")
    p1 = s.progress()
    assert (p1.regions_reviewed, p1.images_reviewed) == (1, 1)
    assert p1.label_quality > p0.label_quality
    assert "regions 1/4" in p1.text()


def test_reopen_resumes(project):
    s = open_session(project)
    s.accept()
    s.reject("img0#1")
    project.close()
    again = open_session(Project.open(project.root))
    assert [r.id for r in again.queue] == ["img1#0", "img2#0"]
    assert again.status["img0#0"] == "accepted" and again.status["img0#1"] == "rejected"
    assert project.mask("img0")[2:8, 2:8].all()


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_review_session import open_session
from napari_noisyfix.project import Project
from napari_noisyfix.quality.region import Region
s = open_session(Project.open({root!r}))
for i in range(1000):
    if s.current is None:
        s.undo(); s.redo()
        continue
    rid = s.current.id
    (s.accept if i % 2 == 0 else s.reject)()
    print("CONFIRMED", rid, flush=True)
    if i >= 1:
        time.sleep(0.01)
"""


def test_killed_session_loses_nothing_confirmed(project):
    project.close()
    code = textwrap.dedent(CHILD).format(tests=os.path.dirname(__file__), root=str(project.root))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    confirmed = []
    for line in child.stdout:
        confirmed.append(line.split()[1])
        if len(confirmed) == 3:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    reopened = open_session(Project.open(project.root))
    open_ids = {r.id for r in reopened.queue}
    assert not open_ids & set(confirmed)
    assert reopened.status[confirmed[0]] == "accepted"
    assert project.mask("img0")[2:8, 2:8].all()
    logged = {r["region"] for r in project.log.rows("review")}
    assert set(confirmed) <= logged


def test_redo_while_elsewhere_keeps_position(project):
    s = open_session(project)
    s.accept()
    s.undo()
    assert s.current.id == "img0#0"
    s.goto("img2#0")
    s.redo()
    assert s.current.id == "img2#0" and s.status["img0#0"] == "accepted"
    assert project.mask("img0")[2:8, 2:8].all()


def test_openness_cache_follows_reviewed_pixels(tmp_path):
    """A region covered by another region's action leaves the queue; undo brings it back."""
    from napari_noisyfix.review.session import ReviewSession

    images = {"a": np.zeros((16, 16), np.uint8)}
    masks = {"a": np.zeros((16, 16), np.uint8)}
    proj = Project.create(tmp_path / "p", images, masks)
    block = np.ones((4, 4), bool)

    def region(i, bbox, gain):
        return Region(
            id=f"a#{i}",
            image="a",
            kind="missing",
            cls=1,
            score=0.9,
            prob_correct=0.9,
            gain=gain,
            area=16,
            bbox=bbox,
            region=block,
            proposal=np.ones((4, 4), np.uint8),
        )

    big = Region(
        id="a#0",
        image="a",
        kind="missing",
        cls=1,
        score=0.9,
        prob_correct=0.9,
        gain=100.0,
        area=64,
        bbox=(0, 0, 8, 8),
        region=np.ones((8, 8), bool),
        proposal=np.ones((8, 8), np.uint8),
    )
    inner, outer = region(1, (0, 0, 4, 4), 5.0), region(2, (10, 10, 14, 14), 1.0)
    session = ReviewSession(proj, "ann", regions=[big, inner, outer])
    assert session.current.id == "a#0"
    session.accept()
    assert not session.is_open(inner) and session.is_open(outer)
    assert session.current.id == "a#2"
    assert session.progress().regions_reviewed == 2
    session.undo()
    assert session.is_open(inner) and session.progress().regions_reviewed == 0


def test_a_rescored_session_resumes_where_the_reviewer_was(project):
    old = open_session(project)
    here = old.goto("img0#1")
    rescored = [
        square_region("img0", 7, 3, 3, 6, 1, gain=0.95, score=0.95),
        square_region("img0", 8, 21, 21, 4, 0, gain=0.4, score=0.5),  # overlaps img0#1
        square_region("img1", 3, 10, 10, 5, 1, gain=0.7, score=0.75),
        square_region("img2", 4, 0, 0, 4, 1, gain=0.2, score=0.3),
    ]
    new = ReviewSession(project, "dr-a", version=1, regions=rescored)
    assert new.current.id == "img0#7"  # a fresh session starts at the top of the queue
    assert new.resume_at(here).id == "img0#8"
    # no overlap: the nearest open region of the same image
    far = square_region("img0", 9, 24, 14, 4, 1, gain=0.1)
    assert new.resume_at(far).id == "img0#8"
    # nothing left open in that image: the first open region of the images after it
    new.reject("img0#7")
    new.reject("img0#8")
    assert new.resume_at(here).id == "img1#3"
    assert new.resume_at(None).id == "img1#3"


def _walk(project):
    """Accept, reject and undo across images; the queue and progress after each step."""
    s = open_session(project)
    seen = []
    for act in (s.accept, s.reject, s.accept, s.undo):
        act()
        p = s.progress()
        seen.append(([r.id for r in s.queue], p.regions_reviewed, p.images_reviewed))
    return seen, s


def test_a_session_keeps_few_reviewed_maps_and_walks_the_same(tmp_path, monkeypatch):
    from napari_noisyfix.review import session as session_module

    full, _ = _walk(make_project(tmp_path / "full"))
    monkeypatch.setattr(session_module, "REVIEWED_CACHE", 1)
    small, s = _walk(make_project(tmp_path / "small"))
    assert small == full
    assert full[-1][1:] == (2, 2)  # accept + reject kept, the last accept undone
    assert len(s._reviewed) == 1
