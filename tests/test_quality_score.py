"""Scoring a project: files, caching, rescoring only what changed, readers."""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import Progress
from napari_noisyfix.project import Project
from napari_noisyfix.quality.region import Region
from napari_noisyfix.quality.score import load_image_scores, load_maps, load_regions, score_project
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask

GRID = [(r, c) for r in (8, 24, 40) for c in (8, 24, 40)]


def _truth(seed):
    rng = np.random.default_rng(seed)
    return disk_mask((48, 48), GRID, rng.integers(4, 6, len(GRID)))


@pytest.fixture
def project(tmp_path):
    truths = {f"im{i}": _truth(i) for i in range(4)}
    masks = {k: v.copy() for k, v in truths.items()}
    masks["im1"] = ndi.binary_dilation(masks["im1"], iterations=2).astype(np.uint8)
    masks["im2"][disk_mask((48, 48), GRID[:3], [6, 6, 6]) > 0] = 0
    images = {k: (v * 200 + 20).astype(np.uint8) for k, v in truths.items()}
    proj = Project.create(tmp_path / "p", images, masks, truth=truths)
    version, _ = proj.new_model_dir()
    for name, truth in truths.items():
        proj.save_probs(version, name, probs_from_mask(truth, noise=0.01, seed=1))
    return proj


def _run(job):
    steps = []
    while True:
        try:
            steps.append(next(job))
        except StopIteration as stop:
            return stop.value, steps


def test_score_writes_tables_and_flags_the_corrupted_images(project):
    summary, steps = _run(score_project(project))
    assert all(isinstance(s, Progress) for s in steps) and steps[-1].step == steps[-1].total == 4
    assert summary.startswith("v0001: rescored 4 of 4")
    sdir = project.root / "scores" / "v0001"
    for path in ("regions.csv", "image_scores.csv", "outliers.npz", "quality_manifest.json"):
        assert (sdir / path).is_file()
    rows = {r["image"]: r for r in load_image_scores(project)}
    clean = max(rows["im0"]["error_score"], rows["im3"]["error_score"])
    assert min(rows["im1"]["error_score"], rows["im2"]["error_score"]) > clean + 0.3
    regions = load_regions(project)
    assert all(isinstance(r, Region) for r in regions)
    kinds = {(r.image, r.kind) for r in regions}
    assert ("im1", "too_wide") in kinds and ("im2", "missing") in kinds
    assert len({r.id for r in regions}) == len(regions)
    csv_lines = (sdir / "regions.csv").read_text().splitlines()
    assert csv_lines[0].startswith("id,image,kind,cls,score") and len(csv_lines) == len(regions) + 1


def test_maps_are_cached_as_float16_and_read_back(project):
    _run(score_project(project))
    with np.load(project.root / "scores" / "v0001" / "maps" / "im2.npz") as raw:
        assert raw["error_score"].dtype == np.float16
    maps = load_maps(project, "im2")
    assert maps["error_score"].dtype == np.float32 and maps["error_score"].shape == (48, 48)
    wrong = project.mask("im2") != project.truth("im2")
    assert maps["error_score"][wrong].mean() > 5 * maps["error_score"][~wrong].mean()


def test_rescoring_skips_unchanged_images(project):
    _run(score_project(project))
    maps_dir = project.root / "scores" / "v0001" / "maps"
    before = {p.name: p.stat().st_mtime_ns for p in maps_dir.iterdir()}
    summary, _ = _run(score_project(project))
    assert "rescored 0 of 4" in summary
    assert {p.name: p.stat().st_mtime_ns for p in maps_dir.iterdir()} == before
    project.save_mask("im2", project.truth("im2"))
    summary, _ = _run(score_project(project))
    assert "rescored 1 of 4" in summary
    assert not [r for r in load_regions(project) if r.image == "im2" and r.kind == "missing"]
    assert "rescored 4 of 4" in _run(score_project(project, force=True))[0]


def test_a_moved_foreground_shift_rescores_every_image(project):
    summary, _ = _run(score_project(project))
    assert "foreground than the labels" in summary
    path = project.root / "scores" / "v0001" / "quality_manifest.json"
    manifest = json.loads(path.read_text())
    assert abs(manifest["fg_shift"]) < 1.0  # probabilities drawn from the true masks
    manifest["fg_shift"] += 0.5
    path.write_text(json.dumps(manifest))
    assert "rescored 4 of 4" in _run(score_project(project))[0]
    assert "rescored 0 of 4" in _run(score_project(project))[0]


def test_damaged_or_missing_caches_are_rebuilt(project):
    """Map and region caches are derived data written without fsync: a damaged or vanished one
    is recomputed from the stored probabilities instead of failing the run."""
    _run(score_project(project))
    sdir = project.root / "scores" / "v0001"
    before = [r.to_row() for r in load_regions(project)]
    (sdir / "regions" / "im1.npz").write_bytes(b"cut short")
    (sdir / "maps" / "im2.npz").unlink()
    summary, _ = _run(score_project(project))
    assert "rescored 2 of 4" in summary
    assert [r.to_row() for r in load_regions(project)] == before
    assert set(load_maps(project, "im2")) >= {"error_score", "confidence"}


def test_threshold_override_and_errors(project, tmp_path):
    _run(score_project(project, thresholds={1: 0.99}))
    manifest = (project.root / "scores" / "v0001" / "quality_manifest.json").read_text()
    assert "0.99" in manifest
    with pytest.raises(NoisyFixError, match="was not scored"):
        load_regions(project, version=7)
    bare = Project.create(
        tmp_path / "bare", {"a": np.zeros((8, 8), np.uint8)}, {"a": np.zeros((8, 8), np.uint8)}
    )
    with pytest.raises(NoisyFixError, match="no model yet"):
        _run(score_project(bare))
    with pytest.raises(NoisyFixError, match="nothing scored"):
        load_regions(bare)
    bare.new_model_dir()
    with pytest.raises(NoisyFixError, match="checkpoint|model"):
        _run(score_project(bare))


class _FakePredictor:
    """Stands in for model.Predictor: probabilities from the true mask, features, two samples."""

    def __init__(self, project):
        self.project, self.calls = project, []

    def predict(self, image, tta=False, mc_samples=0, return_features=False):
        from types import SimpleNamespace

        name = next(n for n in self.project.names if np.array_equal(self.project.image(n), image))
        self.calls.append((name, tta, return_features))
        probs = probs_from_mask(self.project.truth(name), noise=0.01, seed=1)
        samples = np.stack([probs, probs[::-1]]) if tta else None
        feats = np.stack([image / 255.0, np.ones(image.shape)]) if return_features else None
        return SimpleNamespace(probs=probs, samples=samples, features=feats)


def test_missing_probs_and_features_come_from_the_predictor(project, monkeypatch):
    from napari_noisyfix.quality import score

    fake = _FakePredictor(project)
    monkeypatch.setattr(score._LazyPredictor, "get", lambda self: fake)
    (project.root / "scores" / "v0001" / "probs" / "im3.npy").unlink()
    summary, _ = _run(score_project(project, tta=True, features=True))
    assert "rescored 4 of 4" in summary
    assert ("im3", True, False) in fake.calls and project.load_probs("im3") is not None
    assert sum(1 for c in fake.calls if c[2]) == 4
    maps = load_maps(project, "im0")
    assert {"variance", "mutual_information"} <= set(maps)
    with np.load(project.root / "scores" / "v0001" / "regions" / "im0.npz") as raw:
        assert list(raw["object_columns"][-2:]) == ["feature_0", "feature_1"]
    assert "rescored 4 of 4" in _run(score_project(project))[0]  # features off: all stale


def test_scoring_holds_no_image_sized_array_per_image(project, monkeypatch):
    """The outlier clustering gets descriptors only; an image's label map and the model's labels
    are read from its archive when one of its objects is flagged, equal to the stored labels."""
    from napari_noisyfix.quality import score as score_module

    seen = []
    real = score_module.find_outliers

    def spy(tables, *args, **kwargs):
        seen.extend((t.labels, t.proposal) for t in tables)
        return real(tables, *args, **kwargs)

    monkeypatch.setattr(score_module, "find_outliers", spy)
    _run(score_project(project))
    assert len(seen) == 4 and all(labels is None and prop is None for labels, prop in seen)
    table = score_module._keep(
        project,
        project.scores_dir(1),
        "im2",
        score_module.read_npz(project.scores_dir(1) / "regions" / "im2.npz"),
    ).table
    labels, proposal = table.arrays()
    assert np.array_equal(proposal, project.load_probs("im2", 1).argmax(0))
    assert labels.max() == len(table.classes) > 0


def test_loaded_regions_read_their_pixels_back_only_when_used(project):
    from napari_noisyfix.quality import storage
    from napari_noisyfix.quality.queue import ReviewQueue

    _run(score_project(project))
    path = project.scores_dir(1) / "regions" / "im2.npz"
    stored = [r for r in load_regions(project) if r.image == "im2" and r.kind != "outlier"]
    eager = storage.regions_from_arrays(storage.read_npz(path), str(path))
    assert stored and all("region" not in r.__dict__ for r in stored)
    storage._archive_pixels.cache_clear()
    queue = ReviewQueue(stored, {"im2": np.zeros((48, 48), bool)})
    assert storage._archive_pixels.cache_info().misses == 0  # nothing reviewed: no pixels read
    assert [r.id for r in queue] == [r.id for r in ReviewQueue(eager)]
    for s, e in zip(stored, eager, strict=True):
        assert np.array_equal(s.region, e.region) and np.array_equal(s.proposal, e.proposal)
        assert s.to_row() == e.to_row()
    storage.write_npz(path, storage.read_npz(path) | {"regions": eager[0].region.ravel()})
    with pytest.raises(NoisyFixError, match="rescored since its regions were read"):
        _ = stored[0].region
    with pytest.raises(NoisyFixError, match="im2.npz: damaged region archive"):
        load_regions(project)  # its pixel arrays no longer match the boxes (sizes from headers)
