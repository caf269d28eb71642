"""The command line's tqdm bars: a bar per phase, and no rate made up from an unmeasured step."""

import re
import time

from napari_noisyfix.progress import Progress, drive


def _fold_job(pause):
    for step in (1, 2, 3):
        if step > 1:
            time.sleep(pause)
        yield Progress("fold 1/2", step, 3, "train")
    yield Progress("fold 1/2", 0, 0, "predicting 5 held-out images")
    for step in (1, 2):
        time.sleep(pause)
        yield Progress("fold 2/2", step, 3, "train")
    return "v1"


def _lines(err: str) -> list[str]:
    return [s.strip() for s in re.split(r"[\r\n]+", err) if s.strip()]


def test_predicting_gets_its_own_bar_not_the_finished_count_again(capsys):
    assert drive(_fold_job(0.0)) == "v1"
    lines = _lines(capsys.readouterr().err)
    predicting = [s for s in lines if "predicting" in s]
    assert predicting and all(
        s.startswith("fold 1/2: predicting 5 held-out images") for s in predicting
    )
    assert not any(re.search(r"\b0/3\b", s) for s in lines)  # the finished count never drops to 0
    assert any(s.startswith("fold 2/2:") for s in lines)


def test_the_rate_comes_from_measured_steps_only(capsys):
    drive(_fold_job(0.15))
    lines = _lines(capsys.readouterr().err)
    rates = [float(m) for s in lines for m in re.findall(r"([\d.]+)step/s", s)]
    first = [s for s in lines if s.startswith("fold 1/2:") and "1/3" in s]
    assert first and all("?step/s" in s for s in first)  # nothing measured yet
    assert rates and max(rates) < 20  # a step takes 0.15 s: about 7 steps/s at most
