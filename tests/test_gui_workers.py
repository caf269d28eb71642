"""JobRunner: core generators in napari workers, progress, cancel (closed in the worker), errors."""

import threading
import time

import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.gui.workers import JobRunner
from napari_noisyfix.progress import Progress


def counting(n, record):
    try:
        for i in range(n):
            time.sleep(0.005)
            yield Progress("count", i + 1, n)
        return n * 10
    finally:
        record["closed_in"] = threading.get_ident()


def failing():
    yield Progress("fail", 1, 2)
    raise NoisyFixError("img3: broken mask")


@pytest.fixture
def runner():
    states = []
    r = JobRunner(states.append)
    r.states = states
    return r


def test_job_runs_to_the_end(qtbot, runner):
    record, done = {}, []
    runner.start("count", lambda: counting(5, record), done.append)
    assert runner.busy
    qtbot.waitUntil(lambda: not runner.busy, timeout=20_000)
    assert done == [50]
    assert record["closed_in"] != threading.get_ident()
    assert runner.states[0] == "count: started" and runner.states[-1] == "count: done"
    assert "count: count 5/5" in runner.states


def test_cancel_closes_the_job_in_its_thread(qtbot, runner):
    record, done = {}, []
    runner.start("long", lambda: counting(100_000, record), done.append)
    with pytest.raises(NoisyFixError, match="long is still running"):
        runner.start("other", lambda: counting(1, {}), done.append)
    qtbot.waitUntil(lambda: len(runner.states) > 3, timeout=20_000)
    runner.cancel()
    qtbot.waitUntil(lambda: not runner.busy, timeout=20_000)
    assert done == []
    assert runner.states[-1] == "long: cancelled"
    assert record["closed_in"] != threading.get_ident()


def test_error_is_reported(qtbot, runner):
    done = []
    runner.start("bad", failing, done.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=20_000)
    assert done == []
    assert runner.states[-1] == "bad failed: img3: broken mask"


def test_a_step_marked_notify_is_a_notification_with_its_message(qtbot, runner, monkeypatch):
    from napari.utils import notifications

    shown = []
    monkeypatch.setattr(notifications, "show_info", shown.append)

    def planned():
        yield Progress("plan", 0, 0, "budget quick: estimated about 3 min", {"notify": True})
        yield Progress("fold 1/2", 1, 2)
        return 1

    runner.start("train", planned, lambda result: None)
    qtbot.waitUntil(lambda: not runner.busy, timeout=20_000)
    assert shown == ["NoisyFix train: budget quick: estimated about 3 min"]
    assert "train: budget quick: estimated about 3 min" in runner.states


def test_steps_queued_behind_a_busy_window_reach_the_status_in_order(make_napari_viewer, qtbot):
    """napari's progress bar processes Qt events when it changes: with every step and the job's
    end already queued (the window was busy), they are handled inside the first bar update.
    The status must still end on the job's end, never on a stale step, and no bar stays open."""
    from napari.utils import progress

    make_napari_viewer()  # its activity dock is what processes events on each bar change
    states = []
    runner = JobRunner(states.append)
    runner.start("count", lambda: counting(6, {}), lambda n: states.append(f"result {n}"))
    time.sleep(1.0)  # the UI thread busy: all steps, the return and the end queue up
    qtbot.waitUntil(lambda: not runner.busy, timeout=20_000)
    qtbot.wait(50)
    steps = [int(s.split()[2].split("/")[0]) for s in states if s.startswith("count: count")]
    assert steps == sorted(steps) and steps[-1] == 6
    assert states[-2:] == ["count: done", "result 60"]
    assert not [p for p in progress._all_instances if p.desc.startswith("count")]
