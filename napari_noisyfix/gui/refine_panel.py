"""Choose a refinement tool (refine.registry, kind "refine") and its parameters."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

NONE = "no refinement"
BIG = 1e9


def refine_tools() -> dict:
    """Registered refinement tools by name."""
    from .. import refine  # noqa: F401  (importing the package registers its tools)
    from ..refine.registry import TOOLS

    return {name: tool for name, tool in TOOLS.items() if tool.kind == "refine"}


def param_editor(param) -> QWidget:
    """One input widget for a :class:`~napari_noisyfix.refine.registry.Param`."""
    if param.choices is not None:
        editor = QComboBox()
        editor.addItems(list(param.choices))
        editor.setCurrentText(str(param.default))
    elif param.type is bool:
        editor = QCheckBox()
        editor.setChecked(bool(param.default))
    elif param.type in (int, float):
        editor = QSpinBox() if param.type is int else QDoubleSpinBox()
        lo = -BIG if param.min is None else param.min
        hi = BIG if param.max is None else param.max
        editor.setRange(param.type(max(lo, -(2**31) + 1)), param.type(min(hi, 2**31 - 1)))
        editor.setValue(param.default)
    else:
        editor = QLineEdit(str(param.default))
    editor.setToolTip(param.help)
    return editor


def editor_value(editor: QWidget):
    """The value an editor from :func:`param_editor` holds."""
    if isinstance(editor, QComboBox):
        return editor.currentText()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QLineEdit):
        return editor.text()
    return editor.value()


class RefinePanel(QWidget):
    """A tool combo and a form with one control per parameter; emits ``changed`` on any edit."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tools = refine_tools()
        self.combo = QComboBox()
        self.combo.addItems([NONE, *self.tools])
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("Refine", self.combo)
        self.editors: dict[str, QWidget] = {}
        self.combo.currentTextChanged.connect(self._rebuild)

    def _rebuild(self, name: str) -> None:
        while self.form.rowCount() > 1:
            self.form.removeRow(1)
        self.editors = {}
        tool = self.tools.get(name)
        for param in tool.params.values() if tool else ():
            editor = param_editor(param)
            self.editors[param.name] = editor
            self.form.addRow(param.name, editor)
        self.changed.emit()

    def selection(self) -> tuple[str | None, dict]:
        """The chosen tool name (None for no refinement) and its parameter values."""
        name = self.combo.currentText()
        if name == NONE:
            return None, {}
        return name, {k: editor_value(e) for k, e in self.editors.items()}
