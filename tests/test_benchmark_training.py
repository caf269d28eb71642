"""benchmark.training: step timing of training jobs."""

from napari_noisyfix.benchmark.training import timed_steps
from napari_noisyfix.progress import Progress, drive


def test_timed_steps_counts_consecutive_steps_of_a_stage():
    def job():
        for stage, step in (("f1", 1), ("f1", 2), ("f1", 2), ("f1", 3), ("f2", 1), ("f2", 2)):
            yield Progress(stage, step, 3)
        return "done"

    times = []
    assert drive(timed_steps(job(), times), quiet=True) == "done"
    assert len(times) == 3 and all(t >= 0 for t in times)
