"""Instance projects: detected at import, ids kept in the project, through reopening and export."""

import json

import numpy as np
import pytest
from instance_samples import image_of, merged_ids, split_ids, truth_ids
from io_samples import save_png
from PIL import Image

from napari_noisyfix.cli import main
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.export import export_project
from napari_noisyfix.io.importer import import_project
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project

MASKS = {"a": truth_ids, "b": merged_ids, "c": split_ids}


def _folders(tmp_path, seg_npy: bool = False):
    for name, make in MASKS.items():
        ids = make()
        save_png(tmp_path / "images" / f"{name}.png", image_of(ids))
        if seg_npy:
            (tmp_path / "masks").mkdir(exist_ok=True)
            np.save(tmp_path / "masks" / f"{name}_seg.npy", ids)
        else:
            save_png(tmp_path / "masks" / f"{name}.png", ids)  # 16-bit PNG, as Cellpose writes
    return tmp_path / "images", tmp_path / "masks"


def test_cli_import_auto_reads_instance_masks_and_says_why(tmp_path, capsys):
    images, masks = _folders(tmp_path)
    assert main(["import", str(images), str(masks), str(tmp_path / "P")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("masks read as instance labels: median 6 ids per mask, 100% of ids one")
    assert "2 classes" in out
    config = json.loads((tmp_path / "P" / "project.json").read_text())
    assert config["labels"] == "instance" and config["import"]["labels"] == "instance"
    assert config["class_names"] == ["background", "foreground"]


def test_instance_ids_are_kept_and_the_model_sees_their_union(tmp_path):
    images, masks = _folders(tmp_path)
    with import_project(images, masks, tmp_path / "P", labels="instance") as proj:
        assert proj.is_instance and proj.n_classes == 2
        assert proj.labels("b").dtype == np.uint16
        assert np.array_equal(proj.labels("b"), merged_ids())
        assert np.array_equal(proj.mask("b"), (merged_ids() > 0).astype(np.uint8))
        assert np.array_equal(proj.original_mask("c"), (split_ids() > 0).astype(np.uint8))
        edited = split_ids()
        edited[edited == 7] = 4
        proj.save_mask("c", edited)
    reopened = Project.open(tmp_path / "P", mode="read")
    assert reopened.is_instance and np.array_equal(reopened.labels("c"), edited)
    assert np.array_equal(reopened.original_labels("c"), split_ids())


def test_instance_export_writes_uint16_label_images_like_the_input(tmp_path):
    images, masks = _folders(tmp_path)
    proj = import_project(images, masks, tmp_path / "P", labels="auto")
    fixed = merged_ids()
    fixed[truth_ids() == 6] = 9
    proj.save_mask("b", fixed)
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    written = np.array(Image.open(out / "masks" / "b.png"))
    assert written.dtype == np.uint16 and np.array_equal(written, fixed)
    assert np.array_equal(np.array(Image.open(out / "masks" / "a.png")), truth_ids())
    assert "object ids (uint16)" in (out / "EXPORT.txt").read_text()


def test_seg_npy_input_is_exported_as_seg_npy(tmp_path):
    images, masks = _folders(tmp_path, seg_npy=True)
    proj = import_project(images, masks, tmp_path / "P", labels="auto")
    assert proj.is_instance
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    assert sorted(p.name for p in (out / "masks").iterdir()) == [
        "a_seg.npy",
        "b_seg.npy",
        "c_seg.npy",
    ]
    back = np.load(out / "masks" / "c_seg.npy", allow_pickle=False)
    assert back.dtype == np.uint16 and np.array_equal(back, split_ids())


def test_semantic_masks_stay_semantic(tmp_path):
    for name in ("a", "b"):
        save_png(tmp_path / "images" / f"{name}.png", image_of(truth_ids()))
        save_png(tmp_path / "masks" / f"{name}.png", (truth_ids() > 0).astype(np.uint8) * 255)
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P", labels="auto")
    assert not proj.is_instance and "labels" not in proj.config
    assert proj.config["import"]["labels"] == "semantic"
    assert proj.labels("a").dtype == np.uint8 and np.array_equal(proj.labels("a"), proj.mask("a"))
    with pytest.raises(NoisyFixError, match="outside classes 0..1"):
        proj.save_mask("a", truth_ids())


def test_semantic_reading_of_ids_is_what_was_asked(tmp_path):
    images, masks = _folders(tmp_path)
    proj = import_project(images, masks, tmp_path / "P", labels="semantic")
    assert not proj.is_instance and proj.n_classes == 8  # ids 0..7 read as classes, as asked
    assert proj.config["import"]["labels_why"] == "as asked (--labels semantic)"


def test_auto_reads_colour_masks_as_classes_and_instance_refuses_them(tmp_path):
    ids = truth_ids()
    save_png(tmp_path / "images" / "a.png", image_of(ids))
    grey = ((ids > 0) * 255).astype(np.uint8)
    save_png(tmp_path / "masks" / "a.png", np.stack([grey] * 3, axis=-1))
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P", labels="auto")
    assert not proj.is_instance and "colour mask" in proj.config["import"]["labels_why"]
    with pytest.raises(NoisyFixError, match=r"a.png: colour mask; an instance mask is one channel"):
        import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "Q", labels="instance")
