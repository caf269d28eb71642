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
OPEN = ("pending", "skipped")
STATUS = COLUMNS.index("status")


class QueuePanel(QWidget):
    """Table of regions (image, type, score, status); emits ``region_selected(id)`` on a click."""

    region_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._regions: list = []
        self._status: dict[str, str] = {}
        self._by_id: dict = {}
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
            signal.connect(self._refilter)
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
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
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
        """Fill the table with ``regions`` (queue order) and their review status."""
        self._regions, self._status = list(regions), dict(status)
        self._by_id = {r.id: r for r in self._regions}
        table = self.table
        table.blockSignals(True)
        table.setUpdatesEnabled(False)
        table.setSortingEnabled(False)
        table.setRowCount(len(self._regions))
        for row, region in enumerate(self._regions):
            self._fill_row(row, row + 1, region)
        table.setSortingEnabled(True)
        table.resizeColumnsToContents()
        table.setUpdatesEnabled(True)
        table.blockSignals(False)
        self._refilter()

    def update_status(self, status: dict[str, str]) -> None:
        """Show new review statuses (and re-apply the filters) without rebuilding the rows."""
        self._status = dict(status)
        self.table.setSortingEnabled(False)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, STATUS)
            value = self._status.get(item.data(Qt.UserRole), "pending")
            if item.text() != value:
                item.setData(Qt.DisplayRole, value)
        self.table.setSortingEnabled(True)
        self._refilter()

    def visible_ids(self) -> list[str]:
        """Region ids of the rows shown, top to bottom."""
        rows = range(self.table.rowCount())
        return [self._row_id(i) for i in rows if not self.table.isRowHidden(i)]

    def _row_id(self, row: int) -> str:
        return self.table.item(row, 0).data(Qt.UserRole)

    def _keep(self, region_id: str) -> bool:
        region = self._by_id[region_id]
        kind = self.kind.currentText()
        status = self._status.get(region.id, "pending")
        return (
            (kind == ALL or region.kind == kind)
            and region.score >= self.min_score.value()
            and not (self.open_only.isChecked() and status not in OPEN)
        )

    def _refilter(self) -> None:
        shown = 0
        for row in range(self.table.rowCount()):
            keep = self._keep(self._row_id(row))
            self.table.setRowHidden(row, not keep)
            shown += keep
        self.count.setText(f"{shown} of {len(self._regions)} regions shown")

    def _fill_row(self, row: int, rank: int, region) -> None:
        values = (rank, region.image, region.label, round(float(region.score), 3))
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
            if self._row_id(i) == region_id and not self.table.isRowHidden(i):
                self.table.selectRow(i)
                self.table.scrollToItem(self.table.item(i, 0))
                break
        self.table.blockSignals(False)

    def _on_selection(self) -> None:
        region_id = self.selected_id()
        if region_id is not None:
            self.region_selected.emit(region_id)
