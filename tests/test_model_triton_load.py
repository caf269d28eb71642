"""Loading triton next to another LLVM: the symbol clash behind the software-OpenGL crash, without
a display. A shared libLLVM opened with RTLD_GLOBAL stands in for Mesa's llvmpipe driver."""

import glob
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

#: Mesa's LLVM, where the system has one (Debian/Ubuntu and Fedora layouts).
SYSTEM_LLVM = sorted(
    glob.glob("/usr/lib/x86_64-linux-gnu/libLLVM*.so*") + glob.glob("/usr/lib64/libLLVM*.so*")
)
NEEDS = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None or not hasattr(os, "RTLD_DEEPBIND"),
    reason="needs triton and RTLD_DEEPBIND (Linux)",
)

CHILD = """
import ctypes, json, os, sys
if sys.argv[1]:
    ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | ctypes.RTLD_GLOBAL)
from napari_noisyfix.model.triton_load import llvm_in_global_scope, load_triton
before = llvm_in_global_scope()
deep = load_triton()
import torch
p = torch.nn.Parameter(torch.ones(3))
opt = torch.optim.AdamW([p], lr=0.1, weight_decay=0.0)
p.sum().backward()
opt.step()
print(json.dumps({"llvm": before, "deep": deep, "again": load_triton(), "p": p.tolist(),
                  "triton": "triton" in sys.modules, "dynamo": "torch._dynamo" in sys.modules}))
"""


def _child(library: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), library],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@NEEDS
@pytest.mark.skipif(not SYSTEM_LLVM, reason="no shared libLLVM on this system")
def test_triton_loads_deep_bound_next_to_a_global_llvm_and_the_optimizer_steps():
    out = _child(SYSTEM_LLVM[-1])  # unguarded, the optimizer below segfaults in triton's dlopen
    assert out["llvm"] and out["deep"] and not out["again"]
    assert out["triton"] and out["dynamo"]
    assert out["p"] == pytest.approx([0.9, 0.9, 0.9], abs=1e-6)  # AdamW's first step: lr * sign


@NEEDS
def test_triton_loads_as_usual_without_another_llvm():
    out = _child("")
    assert not out["llvm"] and not out["deep"] and out["triton"]
    assert out["p"] == pytest.approx([0.9, 0.9, 0.9], abs=1e-6)
