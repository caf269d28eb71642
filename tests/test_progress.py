from napari_noisyfix.progress import Progress, drive


def _job(closed):
    try:
        for i in range(3):
            yield Progress("work", i + 1, 3, metrics={"loss": 1.0 / (i + 1)})
        return "done"
    finally:
        closed.append(True)


def test_drive_returns_result_and_closes():
    closed = []
    assert drive(_job(closed), quiet=True) == "done"
    assert closed == [True]
    assert drive(_job([])) == "done"


def test_fraction():
    assert Progress("x", 1, 4).fraction == 0.25
    assert Progress("x", 5, 0).fraction == 0.0


def test_cancel_by_closing_runs_cleanup():
    closed = []
    gen = _job(closed)
    next(gen)
    gen.close()
    assert closed == [True]
