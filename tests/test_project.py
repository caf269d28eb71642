import os
import stat

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.project import Project


def _arrays(n=3, shape=(8, 10)):
    rng = np.random.default_rng(0)
    images = {f"img{i}": rng.integers(0, 255, shape, dtype=np.uint8) for i in range(n)}
    masks = {k: (rng.random(shape) > 0.5).astype(np.uint8) * 255 for k in images}
    return images, masks


def test_create_and_reopen_keeps_everything(tmp_path):
    images, masks = _arrays()
    proj = Project.create(
        tmp_path / "p", images, dict(masks), patients={"img0": "A", "img1": "A"}, clean={"img2"}
    )
    again = Project.open(tmp_path / "p", mode="read")
    assert again.names == ["img0", "img1", "img2"]
    assert again.n_classes == 2 and again.in_channels == 1
    assert again.patients() == {"img0": "A", "img1": "A", "img2": "img2"}
    assert again.clean_names() == ["img2"]
    np.testing.assert_array_equal(again.image("img1"), images["img1"])
    np.testing.assert_array_equal(again.mask("img1"), (masks["img1"] > 0).astype(np.uint8))
    assert proj.log.rows("import")[0]["details"]["n_images"] == 3


def test_save_mask_leaves_original_untouched(tmp_path):
    images, masks = _arrays()
    proj = Project.create(tmp_path / "p", images, masks)
    before = proj.original_mask("img0").copy()
    new = 1 - before
    proj.save_mask("img0", new)
    np.testing.assert_array_equal(Project.open(proj.root, mode="read").mask("img0"), new)
    np.testing.assert_array_equal(proj.original_mask("img0"), before)
    mode = (proj.root / "labels_original" / "img0.npy").stat().st_mode
    assert not mode & stat.S_IWUSR
    assert not list((proj.root / "corrections").glob(".*tmp"))


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((3, 3), np.uint8), "does not match image shape"),
        (np.full((8, 10), 0.5), "non-integer"),
        (np.full((8, 10), 7), "outside classes"),
    ],
)
def test_save_mask_refuses_bad_masks(tmp_path, mask, message):
    images, masks = _arrays()
    proj = Project.create(tmp_path / "p", images, masks)
    with pytest.raises(NoisyFixError, match=message):
        proj.save_mask("img0", mask)
    assert not (proj.root / "corrections" / "img0.npy").exists()


def test_failed_atomic_write_keeps_previous_file(tmp_path, monkeypatch):
    images, masks = _arrays()
    proj = Project.create(tmp_path / "p", images, masks)
    proj.save_mask("img0", np.ones((8, 10), np.uint8))

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        proj.save_mask("img0", np.zeros((8, 10), np.uint8))
    monkeypatch.undo()
    assert proj.mask("img0").sum() == 80
    assert not [p for p in (proj.root / "corrections").iterdir() if p.name.endswith(".tmp")]


def test_corrections_are_forced_to_disk_score_caches_are_not(tmp_path, monkeypatch):
    from napari_noisyfix.quality.storage import write_npz

    images, masks = _arrays()
    proj = Project.create(tmp_path / "p", images, masks)
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    proj.save_mask("img0", np.ones((8, 10), np.uint8))
    assert synced
    synced.clear()
    write_npz(tmp_path / "cache.npz", {"a": np.zeros(3)})
    assert not synced
    assert np.array_equal(np.load(tmp_path / "cache.npz")["a"], np.zeros(3))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda i, m: m.pop("img0"), "image without a mask"),
        (lambda i, m: i.pop("img0"), "mask without an image"),
        (lambda i, m: m.__setitem__("img0", np.zeros((4, 4), np.uint8)), "img0: mask shape"),
        (lambda i, m: m.__setitem__("img0", np.full((8, 10), 0.3)), "img0: mask holds non-integer"),
        (lambda i, m: m.__setitem__("img0", np.full((8, 10), 300)), "more than 254 classes"),
        (lambda i, m: i.__setitem__("img0", np.zeros((8, 10, 5))), "img0: image shape"),
    ],
)
def test_create_refuses_bad_input_and_leaves_nothing(tmp_path, mutate, message):
    images, masks = _arrays()
    mutate(images, masks)
    with pytest.raises(NoisyFixError, match=message):
        Project.create(tmp_path / "p", images, masks)
    assert list(tmp_path.iterdir()) == []


def test_existing_path_needs_force(tmp_path):
    images, masks = _arrays()
    Project.create(tmp_path / "p", images, dict(masks))
    with pytest.raises(NoisyFixError, match="exists already"):
        Project.create(tmp_path / "p", images, dict(masks))
    proj = Project.create(tmp_path / "p", {"x": images["img0"]}, {"x": masks["img0"]}, force=True)
    assert proj.names == ["x"]


def test_open_refuses_non_projects(tmp_path):
    with pytest.raises(NoisyFixError, match="not a noisyfix project"):
        Project.open(tmp_path)
    (tmp_path / "project.json").write_text("{broken")
    with pytest.raises(NoisyFixError, match="not valid JSON"):
        Project.open(tmp_path)


def test_multiclass_and_reviewed_and_versions(tmp_path):
    images, _ = _arrays(2)
    masks = {k: np.arange(80).reshape(8, 10) % 4 for k in images}
    proj = Project.create(tmp_path / "p", images, masks)
    assert proj.n_classes == 4
    region = np.zeros((8, 10), bool)
    region[:2] = True
    proj.mark_reviewed("img0", region)
    proj.mark_reviewed("img0", np.eye(8, 10, dtype=bool))
    assert proj.reviewed("img0").sum() == 20 + 6
    assert proj.latest_model_version() is None
    v, path = proj.new_model_dir()
    assert (v, path.name) == (1, "v0001") and proj.latest_model_version() == 1
    probs = np.full((4, 8, 10), 0.25)
    proj.save_probs(1, "img0", probs)
    np.testing.assert_allclose(proj.load_probs("img0"), probs)
    assert proj.load_probs("img1") is None
    with pytest.raises(NoisyFixError, match="probabilities of shape"):
        proj.save_probs(1, "img0", probs[:2])


def test_corrupt_array_file_is_named(tmp_path):
    images, masks = _arrays(1)
    proj = Project.create(tmp_path / "p", images, masks)
    (proj.root / "corrections" / "img0.npy").write_bytes(b"garbage")
    with pytest.raises(NoisyFixError, match=r"img0\.npy: unreadable"):
        proj.mask("img0")


def test_reviewer_is_remembered(tmp_path):
    images, masks = _arrays(1)
    proj = Project.create(tmp_path / "p", images, masks)
    proj.set_reviewer("dr.who")
    assert Project.open(proj.root, mode="read").reviewer == "dr.who"


def test_set_reviewed_replaces_the_map_exactly(tmp_path):
    images, masks = _arrays(1)
    proj = Project.create(tmp_path / "p", images, masks)
    proj.mark_reviewed("img0", np.ones((8, 10), bool))
    smaller = np.zeros((8, 10), bool)
    smaller[0, 0] = True
    proj.set_reviewed("img0", smaller)
    assert proj.reviewed("img0").sum() == 1
    with pytest.raises(NoisyFixError, match="reviewed region shape"):
        proj.set_reviewed("img0", np.zeros((2, 2), bool))


def test_dtypes_and_working_stamps_are_read_without_the_pixels(tmp_path):
    images, masks = _arrays()
    images["img1"] = images["img1"].astype(np.float32)
    proj = Project.create(tmp_path / "p", images, masks)
    assert [proj.image_dtype(n) for n in proj.names] == [np.uint8, np.float32, np.uint8]
    del proj.entry("img1")["dtype"]  # a project made before the dtype was recorded
    assert proj.image_dtype("img1") == np.float32  # from the file's header
    assert proj.all_working_stamps() == dict.fromkeys(proj.names, (None, None))
    proj.save_mask("img2", masks["img2"])
    proj.mark_reviewed("img2", masks["img2"] > 0)
    stamps = proj.all_working_stamps()
    assert stamps == {n: proj.working_stamps(n) for n in proj.names}
    assert stamps["img2"][0] and stamps["img2"][1] and stamps["img0"] == (None, None)
