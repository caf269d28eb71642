"""Package attributes imported on first use (PEP 562), for packages whose submodules are heavy."""

from __future__ import annotations

from importlib import import_module


def lazy_getattr(package: str, where: dict[str, str]):
    """A module ``__getattr__`` for ``package`` that imports the submodule ``where[name]``
    the first time ``name`` is asked for."""

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f".{where[name]}", package), name)

    return __getattr__
