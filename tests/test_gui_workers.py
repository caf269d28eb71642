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
