"""napari/Qt front end: the dock widget, its panels, job workers, commands and the launcher.

Importing it loads triton (:func:`~napari_noisyfix.model.triton_load.load_triton`) before anything
here can import ``torch._dynamo``. napari imports a plugin's widget, commands and reader on its UI
thread once its window, and so the canvas's OpenGL context, exists; the first ``torch._dynamo``
import after that (torchvision's at import, every optimizer's at its first step) would load
triton's LLVM on top of Mesa's under software OpenGL and crash the process.
"""

from ..model.triton_load import load_triton

load_triton()
