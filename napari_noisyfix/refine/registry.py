"""One table of named refinement and segmentation tools with typed parameters.

Every tool registers itself with :func:`register`; the GUI lists :data:`TOOLS` and builds one
control per :class:`Param`. :func:`refine` and :func:`segment` are the only entry points callers
need: they check the image, the mask and every parameter before the tool runs, and raise
:class:`~napari_noisyfix.errors.NoisyFixError` naming the tool, the parameter and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NoisyFixError
from ._arrays import check_box, check_image, check_mask, check_point, check_probs

KINDS = ("refine", "segment")


@dataclass(frozen=True)
class Param:
    """One typed tool parameter.

    Parameters
    ----------
    name : str
        Keyword the tool function takes.
    type : type
        ``int``, ``float``, ``bool`` or ``str``.
    default : Any
        Value used when the caller gives none.
    min, max : float, optional
        Inclusive bounds for numbers.
    help : str
        One line for tooltips and errors.
    choices : tuple of str, optional
        Allowed values of a ``str`` parameter.
    """

    name: str
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    help: str = ""
    choices: tuple[str, ...] | None = None

    def allowed(self) -> str:
        """Describe the allowed values, e.g. ``"int in [0, 50]"``."""
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        lo = "-inf" if self.min is None else self.min
        hi = "inf" if self.max is None else self.max
        if self.type in (int, float):
            return f"{self.type.__name__} in [{lo}, {hi}]"
        return self.type.__name__

    def validate(self, value: Any, tool: str) -> Any:
        """Return ``value`` converted to the parameter's type, or raise NoisyFixError."""
        given, value = value, _coerce(value, self.type)
        if value is None:
            raise NoisyFixError(
                f"tool {tool!r}: parameter {self.name!r} got {given!r} "
                f"({type(given).__name__}); expected {self.allowed()}"
            )
        if self.choices is not None and value not in self.choices:
            raise NoisyFixError(
                f"tool {tool!r}: parameter {self.name!r}={value!r} is not {self.allowed()}"
            )
        out_low = self.min is not None and value < self.min
        if out_low or (self.max is not None and value > self.max):
            raise NoisyFixError(
                f"tool {tool!r}: parameter {self.name!r}={value!r} is outside {self.allowed()}"
            )
        return value


def _coerce(value: Any, kind: type) -> Any:
    """Convert ``value`` to ``kind`` when that loses nothing; None when it is the wrong type."""
    if kind is bool:
        return bool(value) if isinstance(value, (bool, np.bool_)) else None
    if isinstance(value, (bool, np.bool_)):
        return None
    if kind is int:
        if isinstance(value, (int, np.integer)):
            return int(value)
        is_whole = isinstance(value, (float, np.floating)) and float(value).is_integer()
        return int(value) if is_whole else None
    if kind is float:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value)
        return float(value) if ok else None
    return value if isinstance(value, kind) else None


@dataclass(frozen=True)
class Tool:
    """A registered tool: its function, typed parameters and kind (``refine`` or ``segment``).

    ``refine`` tools are called as ``func(image, mask, probs, **params) -> bool mask`` with a binary
    mask (``multiclass=False``) or as ``func(image, labels, probs, **params) -> labels``.
    ``segment`` tools are called as ``func(image, point, box, **params) -> bool mask``.
    """

    name: str
    func: Callable[..., np.ndarray]
    params: dict[str, Param]
    kind: str
    help: str = ""
    multiclass: bool = False
    uses_probs: bool = False

    def defaults(self) -> dict[str, Any]:
        """Default value of every parameter."""
        return {p.name: p.default for p in self.params.values()}

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the full validated parameter set (defaults filled in)."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise NoisyFixError(
                f"tool {self.name!r}: unknown parameter(s) {unknown}; "
                f"it takes {sorted(self.params) or 'none'}"
            )
        merged = {**self.defaults(), **params}
        return {k: self.params[k].validate(v, self.name) for k, v in merged.items()}


TOOLS: dict[str, Tool] = {}


def register(
    name: str,
    kind: str,
    params: list[Param] | tuple[Param, ...] = (),
    doc: str | None = None,
    multiclass: bool = False,
    uses_probs: bool = False,
) -> Callable[[Callable], Callable]:
    """Decorator adding a function to :data:`TOOLS` under ``name``.

    Parameters
    ----------
    name : str
        Unique tool name shown in the GUI.
    kind : {"refine", "segment"}
        How the tool is called (see :class:`Tool`).
    params : list of Param
        Its parameters, in display order.
    doc : str, optional
        One-line help; the first line of the function's docstring when omitted.
    multiclass : bool
        A refine tool that takes label images (else it runs once per foreground class).
    uses_probs : bool
        A refine tool that reads the model's probabilities.
    """
    if kind not in KINDS:
        raise NoisyFixError(f"tool {name!r}: kind {kind!r} is not one of {list(KINDS)}")

    def decorate(func: Callable) -> Callable:
        if name in TOOLS:
            raise NoisyFixError(f"tool {name!r} is registered twice")
        text = doc or (func.__doc__ or name).strip().splitlines()[0]
        table = {p.name: p for p in params}
        for p in params:
            if not isinstance(p.default, p.type) or p.validate(p.default, name) != p.default:
                raise NoisyFixError(f"tool {name!r}: default of {p.name!r} is not {p.allowed()}")
        TOOLS[name] = Tool(name, func, table, kind, text, multiclass, uses_probs)
        return func

    return decorate


def get_tool(name: str, kind: str | None = None) -> Tool:
    """Look a tool up by name (and kind), with an error listing the known names."""
    tool = TOOLS.get(name)
    if tool is None or (kind is not None and tool.kind != kind):
        known = sorted(n for n, t in TOOLS.items() if kind is None or t.kind == kind)
        raise NoisyFixError(f"unknown {kind or ''} tool {name!r}; known tools: {known}")
    return tool


def tool_names(kind: str | None = None) -> list[str]:
    """Names of the registered tools, optionally only those of one kind."""
    return [n for n, t in TOOLS.items() if kind is None or t.kind == kind]


def refine(
    name: str,
    image: np.ndarray,
    mask: np.ndarray,
    probs: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Run refinement tool ``name`` on a mask (binary or class labels) of ``image``.

    Parameters
    ----------
    name : str
        A key of :data:`TOOLS` of kind ``refine``.
    image : ndarray
        (H, W) gray or (H, W, 3) colour image or crop.
    mask : ndarray
        (H, W) bool or integer class ids: the proposal to refine.
    probs : ndarray, optional
        (C, H, W) class probabilities of the model for the same pixels.
    **params
        Tool parameters (see ``TOOLS[name].params``).

    Returns
    -------
    ndarray
        Refined mask with the shape and dtype of ``mask``.
    """
    tool = get_tool(name, "refine")
    values = tool.check_params(params)
    img = check_image(image, f"tool {name!r}")
    labels = check_mask(mask, img.shape[:2], f"tool {name!r}")
    p = check_probs(probs, labels, f"tool {name!r}")
    if tool.multiclass:
        out = tool.func(img, labels, p, **values)
    else:
        out = _per_class(tool, img, labels, p, values)
    return np.asarray(out).astype(np.asarray(mask).dtype, copy=False)


def _per_class(tool: Tool, image, labels, probs, values) -> np.ndarray:
    """Apply a binary tool to every foreground class in turn; later classes win overlaps."""
    out = np.zeros_like(labels)
    for cls in np.unique(labels[labels > 0]):
        fg = probs[cls] if probs is not None else None
        mine = tool.func(image, labels == cls, fg, **values)
        out[mine] = cls
    return out


def segment(
    name: str,
    image: np.ndarray,
    point: tuple[int, int] | None = None,
    box: tuple[int, int, int, int] | None = None,
    *,
    seed_point: tuple[int, int] | None = None,
    **params: Any,
) -> np.ndarray:
    """Propose a bool mask with classic segmenter ``name`` for a clicked point and/or a box.

    Parameters
    ----------
    name : str
        A key of :data:`TOOLS` of kind ``segment``.
    image : ndarray
        (H, W) gray or (H, W, 3) colour image or crop.
    point : (row, col), optional
        A clicked pixel: the segment holding it is returned.
    box : (r0, c0, r1, c1), optional
        Half-open box: the segment(s) lying inside it are returned (the whole image if omitted).
    seed_point : (row, col), optional
        Alias of ``point`` (the name used in CONTRACTS.md).
    **params
        Tool parameters (see ``TOOLS[name].params``).
    """
    tool = get_tool(name, "segment")
    values = tool.check_params(params)
    if point is not None and seed_point is not None:
        raise NoisyFixError(f"tool {name!r}: give point or seed_point, not both")
    img = check_image(image, f"tool {name!r}")
    shape = img.shape[:2]
    pt = check_point(point if point is not None else seed_point, shape, f"tool {name!r}")
    bx = check_box(box, shape, f"tool {name!r}")
    return np.asarray(tool.func(img, pt, bx, **values), dtype=bool)


__all__ = [
    "Param",
    "Tool",
    "TOOLS",
    "register",
    "get_tool",
    "tool_names",
    "refine",
    "segment",
]
