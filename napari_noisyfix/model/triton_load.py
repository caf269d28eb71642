"""Load triton so that its LLVM binds to itself, never to another LLVM in the process.

torch imports triton (when installed) the first time anything imports ``torch._dynamo``: the
module ``torch._dynamo.utils`` calls ``has_triton_package()``, an ``import triton``, at import.
Every optimizer gets there even without ``torch.compile``: ``Optimizer.add_param_group`` is
wrapped in ``torch._disable_dynamo`` and ``Optimizer.step`` in ``_use_grad_for_differentiable``,
both of which import ``torch._dynamo`` on their first call; no torch option or setting skips it.

``triton/_C/libtriton.so`` carries its own LLVM, linked in statically but exported (some 16,000
``llvm::`` functions of default visibility, no ``-Bsymbolic``). Mesa's software OpenGL (llvmpipe:
Xvfb, virtual machines, remote desktops) opens its driver with ``RTLD_GLOBAL``, so once napari's
canvas has an OpenGL context the system's ``libLLVM-N.so`` is in the global symbol scope. Loaded
after that, libtriton's own LLVM calls bind to Mesa's LLVM, another version with other data
layouts, and libtriton's static initialisers corrupt the heap: a segfault in
``_GLOBAL__sub_I_PassBuilder.cpp`` while ``dlopen`` runs. ``RTLD_DEEPBIND`` makes the dynamic
linker look in libtriton and its own dependencies first, so both LLVMs work side by side.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

#: A function of LLVM's C interface, exported by every shared libLLVM.
LLVM_SYMBOL = "LLVMContextCreate"


def llvm_in_global_scope() -> bool:
    """Whether an LLVM's symbols are in this process's global scope (Mesa's, after OpenGL starts)."""
    return hasattr(ctypes.CDLL(None), LLVM_SYMBOL)


def load_triton() -> bool:
    """Import triton, when installed, before torch does; return whether it was loaded deep-bound.

    Call it before anything may import ``torch._dynamo`` (the gui package does, on import), on
    the UI thread: the dlopen flags it sets for the import are the whole interpreter's. Where an
    LLVM is already in the global scope, triton's extension is opened with ``RTLD_DEEPBIND``;
    elsewhere it is opened as usual, since deep binding is kept to where it is needed (it also
    makes libtriton take libc's ``malloc`` over an allocator given in ``LD_PRELOAD``). Nothing
    happens where triton is loaded already, is not installed, or the platform has no
    ``RTLD_DEEPBIND`` (macOS and Windows keep each library's symbols apart anyway).
    """
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if not deepbind or "triton" in sys.modules or importlib.util.find_spec("triton") is None:
        return False
    flags = sys.getdlopenflags()
    deep = llvm_in_global_scope()
    if deep:
        sys.setdlopenflags(flags | deepbind)
    try:
        import triton  # noqa: F401
    except ImportError:  # a broken triton counts as none, as in torch's has_triton_package
        return False
    finally:
        sys.setdlopenflags(flags)
    return deep
