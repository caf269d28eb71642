"""A stack of per-image arrays that napari slices without reading every image (no Qt here).

The review layers show a project's 2D images as one stack (slice ``i`` is image ``names[i]``,
padded with zeros to the largest image). :class:`LazyStack` reads an image only when napari asks
for its slice and keeps the last few read, so a project of 10,000 images opens with none of them
in memory.

Why not ``dask.array`` from delayed loaders: the working-mask Labels layer is painted, and napari
writes brush strokes back with ``data[key] = values``, which a dask array turns into a task graph
that grows with every stroke (napari #8636). So one small class serves every layer: read-only for
the image and the overlays, and, for the working mask, holding each image it is written into
(strokes not yet committed, undo steps) in memory until :meth:`LazyStack.settle` finds the
plane equal to what is saved. Reads take what napari's Labels and Image layers use: an integer
or a slice on the first axis, then basic indices, or one integer array per axis (napari's
``data_setitem`` and the session's ``write_mask``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

#: Planes read from disk kept in memory (the most recently shown ones).
CACHE = 8


class LazyStack:
    """``(N, H, W[, C])`` stack of ``load(name)`` arrays, zero-padded to ``canvas``.

    Parameters
    ----------
    names : sequence of str
        Image of each slice.
    canvas : (int, int)
        Height and width every plane is padded to.
    load : callable
        ``load(name)`` gives the image's array (2D, or 2D + channels).
    dtype : dtype
        Dtype of the planes.
    channels : tuple of int
        Trailing shape of every plane (``(3,)`` for RGB images).
    editable : bool
        Whether the stack can be written into (the working mask).
    """

    def __init__(
        self,
        names: Sequence[str],
        canvas: tuple[int, int],
        load: Callable[[str], np.ndarray],
        dtype,
        channels: tuple[int, ...] = (),
        editable: bool = False,
    ):
        self.names = list(names)
        self.canvas = tuple(int(v) for v in canvas)
        self.load = load
        self.dtype = np.dtype(dtype)
        self.shape = (len(self.names), *self.canvas, *channels)
        self.editable = editable
        self.edits: dict[int, np.ndarray] = {}
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    # ------------------------------------------------------------------ planes
    def plane(self, i: int) -> np.ndarray:
        """Slice ``i`` as shown (padded); written planes come from memory, others from disk."""
        i = self._index(i)
        if i in self.edits:
            return self.edits[i]
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        out = self._read(i)
        self._cache[i] = out
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return out

    def _read(self, i: int) -> np.ndarray:
        array = np.asarray(self.load(self.names[i]))
        out = np.zeros(self.shape[1:], self.dtype)
        out[: array.shape[0], : array.shape[1]] = array
        return out

    def _index(self, i) -> int:
        i = int(i)
        n = self.shape[0]
        if not -n <= i < n:
            raise IndexError(f"slice {i} out of a stack of {n} images")
        return i % n

    def _writable(self, i: int) -> np.ndarray:
        if not self.editable:
            raise ValueError("this image stack is read-only")
        i = self._index(i)
        if i not in self.edits:
            self.edits[i] = self.plane(i).copy()
            self._cache.pop(i, None)
        return self.edits[i]

    def settle(self, i: int, saved: np.ndarray) -> bool:
        """Let plane ``i`` go back to disk when it shows exactly ``saved`` (unpadded), i.e. it
        holds nothing unsaved; returns whether it did."""
        i = self._index(i)
        plane = self.edits.get(i)
        if plane is None:
            return False
        h, w = np.shape(saved)[:2]
        padding = plane.copy()
        padding[:h, :w] = 0
        if not np.array_equal(plane[:h, :w], saved) or padding.any():
            return False
        del self.edits[i]
        self._cache[i] = plane
        return True

    # ------------------------------------------------------------------ array protocol
    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        key = _expand(key, self.ndim)
        first, rest = key[0], key[1:]
        if isinstance(first, np.ndarray | list) and not _is_bool(first):
            return self._fancy_get(np.asarray(first), rest)
        if isinstance(first, slice | np.ndarray | list):
            planes = np.arange(self.shape[0])[first]
            stacked = np.stack([self.plane(i) for i in planes]) if len(planes) else None
            if stacked is None:
                return np.zeros((0, *self.shape[1:]), self.dtype)[(slice(None), *rest)]
            return stacked[(slice(None), *rest)]
        return self.plane(first)[rest]

    def _fancy_get(self, first: np.ndarray, rest: tuple) -> np.ndarray:
        rest = tuple(np.asarray(k) for k in rest)
        out = np.zeros(first.shape, self.dtype)
        for i in np.unique(first):
            sel = first == i
            out[sel] = self.plane(i)[tuple(k[sel] if k.shape else k for k in rest)]
        return out

    def __setitem__(self, key, value) -> None:
        key = key if isinstance(key, tuple) else (key,)
        key = _expand(key, self.ndim)
        first, rest = key[0], key[1:]
        if isinstance(first, np.ndarray | list):
            self._fancy_set(np.asarray(first), rest, value)
            return
        if isinstance(first, slice):
            planes = np.arange(self.shape[0])[first]
            value = np.broadcast_to(np.asarray(value), (len(planes), *self[key].shape[1:]))
            for j, i in enumerate(planes):
                self._writable(i)[rest] = value[j]
            return
        self._writable(first)[rest] = value

    def _fancy_set(self, first: np.ndarray, rest: tuple, value) -> None:
        rest = tuple(np.asarray(k) for k in rest)
        value = np.broadcast_to(np.asarray(value), first.shape)
        for i in np.unique(first):
            sel = first == i
            self._writable(i)[tuple(k[sel] for k in rest)] = value[sel]

    def __array__(self, dtype=None, copy=None):
        out = np.stack([self.plane(i) for i in range(self.shape[0])])
        return out if dtype is None else out.astype(dtype)


def _is_bool(index) -> bool:
    return np.asarray(index).dtype == bool


def _expand(key: tuple, ndim: int) -> tuple:
    """``key`` with an Ellipsis replaced by full slices and missing trailing axes filled."""
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = (slice(None),) * (ndim - len(key) + 1)
        key = key[:at] + fill + key[at + 1 :]
    return key + (slice(None),) * (ndim - len(key))
