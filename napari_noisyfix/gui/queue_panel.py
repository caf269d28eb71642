"""The review queue as a sortable, filterable table of flagged regions."""

from __future__ import annotations

import html
import math

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

from ..quality.reasons import KIND_WORDS, WHOLE_MASK_WORDS
from .style import OPEN, dice, dice_gain, gain, percent, pixels

COLUMNS = ("#", "image", "what", "P(error)", "Dice gain", "mask Dice", "status")
HEADER_TIPS = (
    "Queue rank: regions are ordered by the expected gain in the image's Dice, largest first",
    "Image name (the full name is in each row's tooltip)",
    "What the model thinks is wrong here",
    "Calibrated probability that the given mask is wrong here",
    (
        "The queue's order: expected gain in the image's Dice from accepting the proposal "
        "(the expected pixels fixed are in each row's tooltip)"
    ),
    "Estimated Dice of the image's mask against the truth (at scoring time)",
    "Review status",
)
ALL = "all kinds"
#: The kinds as the filter lists them, in words (object errors, then whole-mask errors).
KIND_CHOICES = (*KIND_WORDS.values(), *WHOLE_MASK_WORDS.values())
STATUS = COLUMNS.index("status")
GAIN = 4
SORT_ROLE = Qt.UserRole + 1
#: Widest the image column starts (longer names are elided in the middle; full in the tooltip).
MAX_NAME_WIDTH = 90
#: Room (pixels) for the sort arrow in a header and the margins of a cell.
HEADER_PAD, CELL_PAD = 10, 8
#: Room for a spin box's step buttons (napari's theme draws them wide, on both sides).
SPIN_BUTTONS = 64


class QueueItem(QTableWidgetItem):
    """A cell that sorts by its number (``SORT_ROLE``) rather than by the text shown."""

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return super().__lt__(other)
        return mine < theirs


def row_tooltip(region, est: float | None) -> str:
    """The row's tooltip (rich text, so Qt wraps it): full image name, reason, gains, mask Dice."""
    gains = f"expected gain {pixels(region.gain)} ({dice_gain(region.dice_gain)})"
    lines = [
        f"<b>{html.escape(region.image, quote=False)}</b> · {html.escape(region.label)}",
        html.escape(region.reason or region.label, quote=False),
        f"{gains}; estimated mask Dice {dice(est)}",
    ]
    return "".join(f"<p>{line}</p>" for line in lines)


def row_cells(rank: int, region, status: str, est: float | None) -> list[tuple[str, object]]:
    """``(text shown, sort key)`` of each column of a region's row."""
    est_key = -1.0 if est is None or math.isnan(est) else est
    return [
        (str(rank), rank),
        (region.image, region.image),
        (region.label, region.label),
        (percent(region.score), float(region.score)),
        (gain(region.dice_gain), float(region.dice_gain)),
        (dice(est), est_key),
        (status, status),
    ]


class QueuePanel(QWidget):
    """Table of regions (rank, image, what, P(error), gain, mask Dice, status); emits
    ``region_selected(id)`` on a click."""

    region_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._regions: list = []
        self._status: dict[str, str] = {}
        self._by_id: dict = {}
        self.kind = QComboBox()
        self.kind.addItems([ALL, *KIND_CHOICES])
        self.kind.setToolTip("Show one kind of error only")
        self.kind.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(12)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setToolTip("Hide regions whose probability of being an error is lower")
        text = self.min_score.fontMetrics().horizontalAdvance("0.00")
        self.min_score.setMinimumWidth(text + SPIN_BUTTONS)
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
        table.setHorizontalHeaderLabels(list(COLUMNS))
        for col, tip in enumerate(HEADER_TIPS):
            table.horizontalHeaderItem(col).setToolTip(tip)
        table.sortByColumn(GAIN, Qt.DescendingOrder)  # the queue's order, its key shown
        table.setSelectionBehavior(QTableWidget.SelectRows)
        table.setSelectionMode(QTableWidget.SingleSelection)
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        table.setSortingEnabled(True)
        table.setTextElideMode(Qt.ElideRight)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        table.setMinimumHeight(150)
        return table

    def _layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.kind, stretch=1)
        filters.addWidget(QLabel("P(error) ≥"))
        filters.addWidget(self.min_score)
        filters.addWidget(self.open_only)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(filters)
        box.addWidget(self.table)
        box.addWidget(self.count)

    # ------------------------------------------------------------------ content
    def set_regions(self, regions: list, status: dict[str, str], est_dice: dict | None = None):
        """Fill the table with ``regions`` (queue order), their review status and each image's
        estimated mask Dice (``est_dice``, by image name)."""
        self._regions, self._status = list(regions), dict(status)
        self._by_id = {r.id: r for r in self._regions}
        est_dice = est_dice or {}
        table = self.table
        table.blockSignals(True)
        table.setUpdatesEnabled(False)
        table.setSortingEnabled(False)
        table.setRowCount(len(self._regions))
        for row, region in enumerate(self._regions):
            self._fill_row(row, row + 1, region, est_dice.get(region.image))
        table.setSortingEnabled(True)
        self._fit_columns()
        table.setUpdatesEnabled(True)
        table.blockSignals(False)
        self._refilter()

    def _fit_columns(self) -> None:
        """Narrow columns sized to their header or widest value ("what" takes the rest); cheaper
        than Qt's resize-to-contents, which measures every cell."""
        metrics, regions = self.table.fontMetrics(), self._regions
        header_metrics = self.table.horizontalHeader().fontMetrics()
        widest = {
            0: str(len(regions)),
            1: max((r.image for r in regions), key=len, default=""),
            3: "100%",
            4: gain(max((r.dice_gain for r in regions), default=0.0)),
            5: "0.00",
            6: "accepted",
        }
        for col, text in widest.items():
            header = header_metrics.horizontalAdvance(COLUMNS[col]) + HEADER_PAD
            width = max(header, metrics.horizontalAdvance(text) + CELL_PAD)
            self.table.setColumnWidth(col, min(width, MAX_NAME_WIDTH) if col == 1 else width)

    def update_status(self, status: dict[str, str]) -> None:
        """Show new review statuses (and re-apply the filters) without rebuilding the rows."""
        self._status = dict(status)
        self.table.setSortingEnabled(False)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, STATUS)
            value = self._status.get(item.data(Qt.UserRole), "pending")
            if item.text() != value:
                item.setData(Qt.DisplayRole, value)
                item.setData(SORT_ROLE, value)
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
            (kind == ALL or region.label == kind)
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

    def _fill_row(self, row: int, rank: int, region, est: float | None) -> None:
        tip = row_tooltip(region, est)
        status = self._status.get(region.id, "pending")
        for col, (text, key) in enumerate(row_cells(rank, region, status, est)):
            item = QueueItem(text)
            item.setData(Qt.UserRole, region.id)
            item.setData(SORT_ROLE, key)
            item.setToolTip(tip)
            if 3 <= col <= 5:
                item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))
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
