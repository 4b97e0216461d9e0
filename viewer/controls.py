"""The play bar (play/pause, speed, rep jump, scrub bar, time) and the rep table."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from mocap.hinge import HingeAnalysis
from viewer.playback import SPEEDS

REP_TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rep", "rep", "{:.0f}"),
    ("start_s", "start s", "{:.2f}"),
    ("pattern", "pattern", "{}"),
    ("hip_flexion_deg", "hip °", "{:.0f}"),
    ("knee_flexion_deg", "knee °", "{:.0f}"),
    ("trunk_flexion_deg", "trunk °", "{:.0f}"),
    ("hinge_ratio", "ratio", "{:.1f}"),
    ("faults", "faults", "{}"),
)
"""(column of the per-rep table, header, format)."""


def _cell(value: object, fmt: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a" if math.isnan(value) else "∞"
    return fmt.format(value)


class PlayBar(QtWidgets.QWidget):
    """Buttons, speed, scrub bar and the time readout; wired up by the window."""

    def __init__(self) -> None:
        super().__init__()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.previous = QtWidgets.QPushButton("◀ rep")
        self.play = QtWidgets.QPushButton("play")
        self.next = QtWidgets.QPushButton("rep ▶")
        self.speed = QtWidgets.QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.time = QtWidgets.QLabel()
        self.time.setFixedWidth(330)  # a changing text then causes no new layout
        for widget in (self.previous, self.play, self.next, self.speed, self.slider):
            widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        for widget in (self.previous, self.play, self.next, self.speed):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time)

    def set_frames(self, n_frames: int) -> None:
        """The scrub bar's range: frames 0..n_frames-1."""
        self.slider.setRange(0, max(n_frames - 1, 0))

    def display(self, frame: int, text: str, playing: bool) -> None:
        """The frame on the scrub bar (without echoing a seek), the readout, the button."""
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self.time.setText(text)
        self.play.setText("pause" if playing else "play")


class RepTable(QtWidgets.QTableWidget):
    """One row per rep (values at the bottom); clicking a row jumps to the rep."""

    def __init__(self) -> None:
        super().__init__(0, len(REP_TABLE_COLUMNS))
        self.setHorizontalHeaderLabels([header for _, header, _ in REP_TABLE_COLUMNS])
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.current = -1

    def set_analysis(self, analysis: HingeAnalysis | None) -> None:
        """Fill the table (empty without an analysis); fault messages as tooltips."""
        self.current = -1
        reps = () if analysis is None else analysis.reps
        self.setRowCount(len(reps))
        for row, rep in enumerate(reps):
            values = rep.row()
            for col, (name, _, fmt) in enumerate(REP_TABLE_COLUMNS):
                item = QtWidgets.QTableWidgetItem(_cell(values[name], fmt))
                item.setToolTip("\n".join(f.message for f in rep.faults) or "no fault")
                self.setItem(row, col, item)
        self.resizeColumnsToContents()

    def show_rep(self, rep: int) -> None:
        """Select the row of rep number ``rep`` (0: none); only when it changes."""
        if rep == self.current:
            return
        self.current = rep
        self.blockSignals(True)
        if rep > 0:
            self.selectRow(rep - 1)
        else:
            self.clearSelection()
        self.blockSignals(False)
