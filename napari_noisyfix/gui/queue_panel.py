"""The review queue as a sortable, filterable table of flagged regions.

The table is a view of :class:`QueueModel`, which makes a cell's text only when Qt draws it
and sorts its own list by a key: a queue of 7,000 regions opens without 49,000 cell items.
"""

from __future__ import annotations

import html
import math

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
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


class QueueModel(QAbstractTableModel):
    """The queue's rows: one region each, its cells (:func:`row_cells`) made when asked for.
    ``SORT_ROLE`` gives a cell's sort key, ``Qt.UserRole`` the row's region id."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.regions: list = []
        self._rank: dict[str, int] = {}
        self._status: dict[str, str] = {}
        self._est: dict = {}

    def reset(self, regions: list, status: dict[str, str], est_dice: dict) -> None:
        """Show ``regions`` (queue order: their rank), their statuses and image Dice estimates."""
        self.beginResetModel()
        self.regions = list(regions)
        self._rank = {r.id: i + 1 for i, r in enumerate(self.regions)}
        self._status, self._est = dict(status), dict(est_dice)
        self.endResetModel()

    def set_status(self, status: dict[str, str]) -> None:
        """New review statuses (the status column redrawn)."""
        self._status = dict(status)
        if self.regions:
            self.dataChanged.emit(self.index(0, STATUS), self.index(len(self.regions) - 1, STATUS))

    def status(self, region) -> str:
        return self._status.get(region.id, "pending")

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.regions)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def _cells(self, region) -> list[tuple[str, object]]:
        est = self._est.get(region.image)
        return row_cells(self._rank[region.id], region, self.status(region), est)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        region, col = self.regions[index.row()], index.column()
        if role == Qt.DisplayRole:
            return self._cells(region)[col][0]
        if role == SORT_ROLE:
            return self._cells(region)[col][1]
        if role == Qt.UserRole:
            return region.id
        if role == Qt.ToolTipRole:
            return row_tooltip(region, self._est.get(region.image))
        if role == Qt.TextAlignmentRole and 3 <= col <= 5:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal:
            return None
        if role == Qt.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """Rows by ``column``'s number (not its text); ties keep their order."""
        self.layoutAboutToBeChanged.emit()
        key = [self._cells(r)[column][1] for r in self.regions]
        rank = sorted(range(len(key)), key=key.__getitem__, reverse=order == Qt.DescendingOrder)
        where = {old: new for new, old in enumerate(rank)}
        self.regions = [self.regions[i] for i in rank]
        kept = self.persistentIndexList()
        self.changePersistentIndexList(kept, [self.index(where[i.row()], i.column()) for i in kept])
        self.layoutChanged.emit()


class QueuePanel(QWidget):
    """Table of regions (rank, image, what, P(error), gain, mask Dice, status); emits
    ``region_selected(id)`` on a click."""

    region_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = QueueModel(self)
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
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.layoutChanged.connect(self._refilter)  # a sort moves the hidden rows

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectRows)
        table.setSelectionMode(QAbstractItemView.SingleSelection)
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.setSortingEnabled(True)
        table.sortByColumn(GAIN, Qt.DescendingOrder)  # the queue's order, its key shown
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
        self.table.selectionModel().blockSignals(True)
        self.model.reset(regions, status, est_dice or {})
        header = self.table.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self._fit_columns()
        self.table.selectionModel().blockSignals(False)  # the sort has re-applied the filters

    def _fit_columns(self) -> None:
        """Narrow columns sized to their header or widest value ("what" takes the rest); cheaper
        than Qt's resize-to-contents, which measures every cell."""
        metrics, regions = self.table.fontMetrics(), self.model.regions
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
        self.model.set_status(status)
        header = self.table.horizontalHeader()
        if header.sortIndicatorSection() == STATUS:
            self.model.sort(STATUS, header.sortIndicatorOrder())  # re-applies the filters
        else:
            self._refilter()

    def visible_ids(self) -> list[str]:
        """Region ids of the rows shown, top to bottom."""
        rows = enumerate(self.model.regions)
        return [r.id for i, r in rows if not self.table.isRowHidden(i)]

    def _keep(self, region) -> bool:
        kind = self.kind.currentText()
        return (
            (kind == ALL or region.label == kind)
            and region.score >= self.min_score.value()
            and not (self.open_only.isChecked() and self.model.status(region) not in OPEN)
        )

    def _refilter(self) -> None:
        shown = 0
        for row, region in enumerate(self.model.regions):
            keep = self._keep(region)
            self.table.setRowHidden(row, not keep)
            shown += keep
        self.count.setText(f"{shown} of {len(self.model.regions)} regions shown")

    # ------------------------------------------------------------------ selection
    def selected_id(self) -> str | None:
        """Region id of the selected row, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.regions[rows[0].row()].id if rows else None

    def select(self, region_id: str | None) -> None:
        """Select (and scroll to) the row of ``region_id`` without emitting ``region_selected``."""
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        self.table.clearSelection()
        for i, region in enumerate(self.model.regions):
            if region.id == region_id and not self.table.isRowHidden(i):
                self.table.selectRow(i)
                self.table.scrollTo(self.model.index(i, 0))
                break
        selection.blockSignals(False)

    def _on_selection(self, *_) -> None:
        region_id = self.selected_id()
        if region_id is not None:
            self.region_selected.emit(region_id)
