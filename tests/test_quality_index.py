"""The review index: a queue and a session opened from it match those read image by image."""

import json
import os
import zlib

import numpy as np
import pytest
from test_quality_score import project as unscored  # noqa: F401 (the fixture)

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import drive
from napari_noisyfix.quality import index as review_index
from napari_noisyfix.quality.queue import ReviewQueue
from napari_noisyfix.quality.score import load_regions, score_project
from napari_noisyfix.quality.storage import read_npz, write_npz
from napari_noisyfix.review.session import ReviewSession


@pytest.fixture
def project(unscored):  # noqa: F811 (the fixture of test_quality_score, scored here)
    drive(score_project(unscored), quiet=True)
    return unscored


def _without_index(project):
    """Hide the index (the way every image is read from its own files)."""
    path = project.scores_dir(1) / review_index.INDEX
    hidden = path.with_suffix(".hidden")
    os.replace(path, hidden)
    return lambda: os.replace(hidden, path)


def _same_regions(a, b):
    assert [r.to_row() for r in a] == [r.to_row() for r in b]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.region, y.region) and np.array_equal(x.proposal, y.proposal)
        assert (x.features is None) == (y.features is None)
        assert x.features is None or np.array_equal(x.features, y.features)


def test_queue_from_the_index_is_the_queue_read_image_by_image(project, monkeypatch):
    read = []
    monkeypatch.setattr(
        "napari_noisyfix.quality.score._image_regions", lambda sdir, n: read.append(n)
    )
    indexed = load_regions(project)
    assert read == []  # no archive opened: every image came from the index
    monkeypatch.undo()
    restore = _without_index(project)
    archived = load_regions(project)
    restore()
    assert len({r.image for r in indexed}) >= 2 and any(r.kind == "outlier" for r in indexed)
    _same_regions(indexed, archived)
    _same_regions(list(ReviewQueue(indexed)), list(ReviewQueue(archived)))


def test_an_image_rescored_after_the_index_is_read_from_its_archive(project):
    path = project.scores_dir(1) / "regions" / "im1.npz"
    os.utime(path, ns=(1, 1))  # a copy without its times, or a write the index missed
    regions = load_regions(project)
    restore = _without_index(project)
    _same_regions(regions, load_regions(project))
    restore()
    read = [r for r in regions if r._source.path == path]
    assert read and all(r._source.stamp == (1, os.stat(path).st_size) for r in read)


def test_a_session_opens_from_the_index_without_reading_probabilities(project, monkeypatch):
    restore = _without_index(project)
    plain = ReviewSession(project, "dr-a")
    expected, order = plain.progress(), [r.id for r in plain.regions]
    restore()
    calls = []
    monkeypatch.setattr(project, "load_probs", lambda *a, **k: calls.append(a))
    session = ReviewSession(project, "dr-a")
    assert session.progress() == expected and [r.id for r in session.regions] == order
    assert calls == []
    monkeypatch.undo()
    session.reject()  # the working files change: that image's summary no longer holds
    again = ReviewSession(project, "dr-a")
    restore = _without_index(project)
    fresh = ReviewSession(project, "dr-a")
    restore()
    assert again.progress() == fresh.progress() != expected
    assert again.progress().images_reviewed == 1


def test_a_bar_on_prob_correct_keeps_exactly_the_regions_above_it(project):
    every = load_regions(project)
    bar = float(np.median([r.prob_correct for r in every]))
    kept = load_regions(project, min_prob=bar)
    assert 0 < len(kept) < len(every)
    _same_regions(kept, [r for r in every if r.prob_correct >= bar])
    restore = _without_index(project)
    _same_regions(load_regions(project, min_prob=bar), kept)  # read image by image: the same
    restore()


def _rewrite_index(project, change):
    """Rewrite the index with ``change(meta, columns)`` applied, ``columns`` being the text
    columns of the first image with regions (by field name)."""
    path = project.scores_dir(1) / review_index.INDEX
    arrays = read_npz(path)
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    ends = [0, *arrays["text_ends"].tolist()]
    blobs = [arrays["text"][a:b].tobytes() for a, b in zip(ends, ends[1:], strict=False)]
    first = next(i for i, n in enumerate(meta["counts"]) if n)
    columns = dict(
        zip(review_index.TEXT_FIELDS, json.loads(zlib.decompress(blobs[first])), strict=True)
    )
    change(meta, columns)
    blobs[first] = zlib.compress(json.dumps(list(columns.values())).encode("utf-8"))
    arrays["text"] = np.frombuffer(b"".join(blobs), np.uint8)
    arrays["text_ends"] = np.cumsum([len(b) for b in blobs])
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
    write_npz(path, arrays)
    return path


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda meta, columns: columns["kind"].pop(), "text columns"),
        (lambda meta, columns: columns["kind"].__setitem__(0, "made_up"), "made_up"),
        (lambda meta, columns: meta["counts"].__setitem__(0, meta["counts"][0] + 1), "columns"),
        (lambda meta, columns: meta["evidence"].pop(), "evidence do not match"),
    ],
)
def test_a_damaged_index_names_the_file_and_the_problem(project, change, problem):
    path = _rewrite_index(project, change)
    with pytest.raises(NoisyFixError, match=problem) as err:
        load_regions(project)
    assert str(path) in str(err.value)
