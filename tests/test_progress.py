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


def test_restage_relabels_and_returns_the_result():
    from napari_noisyfix.progress import restage

    def outer(closed):
        result = yield from restage(_job(closed), "fold 1/2")
        return result.upper()

    seen = []
    gen = outer([])
    while True:
        try:
            seen.append(next(gen))
        except StopIteration as stop:
            assert stop.value == "DONE"
            break
    assert [(p.stage, p.step, p.message) for p in seen] == [
        ("fold 1/2", i, "work") for i in (1, 2, 3)
    ]
    closed = []
    gen = outer(closed)
    next(gen)
    gen.close()
    assert closed == [True]
