"""The tool registry: listing, parameter validation, shapes and dtypes of refine/segment."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.refine import TOOLS, Param, get_tool, refine, register, segment, tool_names
from napari_noisyfix.refine.registry import TOOLS as REGISTRY

RNG = np.random.default_rng(0)
GRAY = RNG.random((24, 24))
RGB = RNG.random((24, 24, 3))
MASK = np.zeros((24, 24), dtype=bool)
MASK[6:18, 6:18] = True


def test_every_tool_is_listed_with_typed_defaults():
    assert set(tool_names("refine")) >= {"opening", "smooth_contours", "snap_edges", "crf"}
    assert set(tool_names("segment")) >= {"mean_shift", "normalized_cut", "watershed", "min_cut"}
    for tool in TOOLS.values():
        assert tool.kind in ("refine", "segment") and tool.help
        for p in tool.params.values():
            assert isinstance(p.default, p.type), (tool.name, p.name)
            assert p.validate(p.default, tool.name) == p.default


@pytest.mark.parametrize("name", tool_names("refine"))
@pytest.mark.parametrize("image", [GRAY, RGB], ids=["gray", "rgb"])
def test_refine_tools_keep_shape_and_dtype(name, image):
    out = refine(name, image, MASK)
    assert out.shape == MASK.shape and out.dtype == bool
    labels = MASK.astype(np.uint8) * 2
    out = refine(name, (image * 255).astype(np.uint8), labels)
    assert out.dtype == np.uint8 and set(np.unique(out)) <= {0, 2}


@pytest.mark.parametrize("name", tool_names("segment"))
@pytest.mark.parametrize("image", [GRAY, RGB], ids=["gray", "rgb"])
def test_segment_tools_return_bool_masks(name, image):
    out = segment(name, image, point=(12, 12))
    assert out.shape == (24, 24) and out.dtype == bool
    out = segment(name, image, box=(4, 4, 20, 20))
    assert out.shape == (24, 24) and not out[:4].any() and not out[:, 20:].any()


def test_seed_point_alias_matches_point():
    a = segment("felzenszwalb", GRAY, point=(5, 5))
    b = segment("felzenszwalb", GRAY, seed_point=(5, 5))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"radius": 99}, ["opening", "radius", "[0, 50]"]),
        ({"radius": 1.5}, ["radius", "int"]),
        ({"radius": True}, ["radius", "int"]),
        ({"radius": "2"}, ["radius", "'2' (str)", "int"]),
        ({"diameter": 2}, ["unknown", "diameter", "radius"]),
    ],
)
def test_bad_parameters_name_tool_param_and_range(params, words):
    with pytest.raises(NoisyFixError) as err:
        refine("opening", GRAY, MASK, **params)
    for word in words:
        assert word in str(err.value)


def test_bad_choice_and_unknown_tool():
    with pytest.raises(NoisyFixError, match="one of"):
        refine("smooth_contours", GRAY, MASK, method="bezier")
    with pytest.raises(NoisyFixError, match="known tools"):
        refine("no_such_tool", GRAY, MASK)
    with pytest.raises(NoisyFixError, match="known tools"):
        refine("mean_shift", GRAY, MASK)


def test_bad_inputs_are_named():
    with pytest.raises(NoisyFixError, match="mask shape"):
        refine("opening", GRAY, MASK[:10])
    with pytest.raises(NoisyFixError, match="image shape"):
        refine("opening", RNG.random((24, 24, 4)), MASK)
    with pytest.raises(NoisyFixError, match="NaN"):
        refine("opening", np.full((24, 24), np.nan), MASK)
    with pytest.raises(NoisyFixError, match="probs shape"):
        refine("crf", GRAY, MASK, probs=np.ones((2, 10, 10)))
    with pytest.raises(NoisyFixError, match="outside the image"):
        segment("watershed", GRAY, point=(30, 3))
    with pytest.raises(NoisyFixError, match="2x2"):
        segment("watershed", GRAY, box=(30, 30, 40, 40))


def test_float_params_accept_ints_and_ints_accept_whole_floats():
    assert get_tool("crf").check_params({"w_app": 3})["w_app"] == 3.0
    assert get_tool("opening").check_params({"radius": 2.0})["radius"] == 2


def test_multiclass_masks_are_refined_per_class():
    labels = np.zeros((24, 24), dtype=np.uint8)
    labels[2:10, 2:10] = 1
    labels[14:22, 14:22] = 2
    labels[5, 5] = 0
    out = refine("fill_holes", GRAY, labels)
    assert out[5, 5] == 1 and (out == 2).sum() == 64


def test_register_rejects_duplicates_and_bad_kinds():
    with pytest.raises(NoisyFixError, match="twice"):
        register("opening", "refine")(lambda image, mask, probs: mask)
    with pytest.raises(NoisyFixError, match="kind"):
        register("x", "paint")
    assert "x" not in REGISTRY
    assert Param("k", int, 1, 0, 3).allowed() == "int in [0, 3]"
