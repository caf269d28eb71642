"""The review queue as a sortable, filterable table of flagged regions."""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..quality.region import KINDS

COLUMNS = ("#", "image", "type", "score", "status")
ALL = "all types"


class QueuePanel(QWidget):
    """Table of regions (image, type, score, status); emits ``region_selected(id)`` on a click."""

    region_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._regions: list = []
        self._status: dict[str, str] = {}
        self.kind = QComboBox()
        self.kind.addItems([ALL, *KINDS])
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setPrefix("score ≥ ")
        self.open_only = QCheckBox("open only")
        self.open_only.setChecked(True)
        self.table = self._make_table()
        self.count = QLabel()
        self._layout()
        for signal in (
            self.kind.currentTextChanged,
            self.min_score.valueChanged,
            self.open_only.toggled,
        ):
            signal.connect(self._refill)
        self.table.itemSelectionChanged.connect(self._on_selection)

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        table.sortByColumn(0, Qt.AscendingOrder)
        table.setSelectionBehavior(QTableWidget.SelectRows)
        table.setSelectionMode(QTableWidget.SingleSelection)
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        table.setSortingEnabled(True)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        table.setMinimumHeight(180)
        return table

    def _layout(self) -> None:
        filters = QHBoxLayout()
        for w in (self.kind, self.min_score, self.open_only):
            filters.addWidget(w)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(filters)
        box.addWidget(self.table)
        box.addWidget(self.count)

    # ------------------------------------------------------------------ content
    def set_regions(self, regions: list, status: dict[str, str]) -> None:
        """Show ``regions`` (queue order) with their review status."""
        self._regions, self._status = list(regions), dict(status)
        self._refill()

    def visible_ids(self) -> list[str]:
        """Region ids of the rows shown, top to bottom."""
        return [self.table.item(i, 0).data(Qt.UserRole) for i in range(self.table.rowCount())]

    def _keep(self, region) -> bool:
        kind = self.kind.currentText()
        status = self._status.get(region.id, "pending")
        return (
            (kind == ALL or region.kind == kind)
            and region.score >= self.min_score.value()
            and not (self.open_only.isChecked() and status not in ("pending", "skipped"))
        )

    def _refill(self) -> None:
        selected = self.selected_id()
        shown = [(i + 1, r) for i, r in enumerate(self._regions) if self._keep(r)]
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(shown))
        for row, (rank, r) in enumerate(shown):
            self._fill_row(row, rank, r)
        self.table.setSortingEnabled(True)
        self.table.blockSignals(False)
        self.count.setText(f"{len(shown)} of {len(self._regions)} regions shown")
        if selected:
            self.select(selected)

    def _fill_row(self, row: int, rank: int, region) -> None:
        values = (rank, region.image, region.kind, round(float(region.score), 3))
        for col, value in enumerate((*values, self._status.get(region.id, "pending"))):
            item = QTableWidgetItem()
            item.setData(Qt.DisplayRole, value)
            item.setData(Qt.UserRole, region.id)
            self.table.setItem(row, col, item)

    # ------------------------------------------------------------------ selection
    def selected_id(self) -> str | None:
        """Region id of the selected row, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(Qt.UserRole) if rows else None

    def select(self, region_id: str | None) -> None:
        """Select (and scroll to) the row of ``region_id`` without emitting ``region_selected``."""
        self.table.blockSignals(True)
        self.table.clearSelection()
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(Qt.UserRole) == region_id:
                self.table.selectRow(i)
                self.table.scrollToItem(self.table.item(i, 0))
                break
        self.table.blockSignals(False)

    def _on_selection(self) -> None:
        region_id = self.selected_id()
        if region_id is not None:
            self.region_selected.emit(region_id)
