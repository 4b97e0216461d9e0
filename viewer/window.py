"""The viewer window: 3D view, sagittal panel, time plots, rep table, play bar, status bar.

Keys: space play/pause; left/right one frame (with shift: one second); up/down speed;
page up/down or [ / ] previous/next rep; home/end first/last frame (end: follow a live
file's newest frame). A click in a plot or on a rep-table row seeks there.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.controls import PlayBar, RepTable
from viewer.data import ViewerData
from viewer.live import Follower
from viewer.playback import Playback
from viewer.plots import TimePlots
from viewer.sagittal import SagittalPanel
from viewer.scene3d import Scene3D

MAX_FPS = 120.0
"""Playback redraws at the trial's frame rate, at most this often."""
TICKS_PER_FRAME = 2
"""The playback timer runs this many times per frame period: a tick that Qt delivers late
then still lands within the same frame (a tick on the same frame draws nothing)."""


def _title(data: ViewerData) -> str:
    info = data.trial.info
    labels = " / ".join(x for x in (info.subject, info.session, info.trial) if x)
    name = data.path.name if data.path is not None else "trial"
    return f"HingeLab viewer: {name}" + (f" ({labels})" if labels else "")


class ViewerWindow(QtWidgets.QMainWindow):
    """The main window.

    Parameters
    ----------
    data : ViewerData
        The trial to show.
    follower : Follower, optional
        Brings new frames: a trial file being written (``viewer.live.FileFollower``) or a
        live session (``viewer.live_feed.LiveFeed``); None: the trial is fixed.
    """

    def __init__(self, data: ViewerData, follower: Follower | None = None) -> None:
        super().__init__()
        self.data = data
        self.follower = follower
        self.playback = Playback(data.times)
        self.scene = Scene3D(data)
        self.sagittal = SagittalPanel(data)
        self.plots = TimePlots(data, self.seek_time)
        self.bar = PlayBar()
        self.table = RepTable()
        self.missing = QtWidgets.QLabel()
        self._build()
        self._connect()
        self._shown = -1
        self._last_tick = time.perf_counter()
        self.set_data(data, first=True)
        if follower is not None and follower.live:  # a live session opens on its newest frame
            self.seek_frame(self.playback.last)

    def _build(self) -> None:
        """Lay the panels out: 3D and sagittal on top, plots and rep table below."""
        self.scene.widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        top.addWidget(self.scene.widget)
        top.addWidget(self.sagittal.widget)
        top.setSizes([900, 700])
        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bottom.addWidget(self.plots.widget)
        bottom.addWidget(self.table)
        bottom.setSizes([1150, 450])
        rows = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        rows.addWidget(top)
        rows.addWidget(bottom)
        rows.setSizes([560, 360])
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(rows, 1)
        layout.addWidget(self.bar)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.missing, 1)

    def _connect(self) -> None:
        """Buttons, scrub bar, table, keys and timers."""
        self.bar.play.clicked.connect(self.toggle)
        self.bar.previous.clicked.connect(self.previous_rep)
        self.bar.next.clicked.connect(self.next_rep)
        self.bar.slider.valueChanged.connect(self.seek_frame)
        self.bar.speed.currentIndexChanged.connect(self._speed_chosen)
        self.table.cellClicked.connect(lambda row, _: self.seek_rep(row + 1))
        keys = {
            "Space": self.toggle,
            "Left": lambda: self.step(-1),
            "Right": lambda: self.step(1),
            "Shift+Left": lambda: self.step(-round(self.data.trial.fps)),
            "Shift+Right": lambda: self.step(round(self.data.trial.fps)),
            "Up": lambda: self.change_speed(1),
            "Down": lambda: self.change_speed(-1),
            "PgUp": self.previous_rep,
            "PgDown": self.next_rep,
            "[": self.previous_rep,
            "]": self.next_rep,
            "Home": lambda: self.seek_frame(0),
            "End": lambda: self.seek_frame(self.playback.last),
        }
        for key, slot in keys.items():
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(slot)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.poller = QtCore.QTimer(self)
        self.poller.timeout.connect(self._poll)
        if self.follower is not None:
            self.poller.start(self.follower.poll_ms)

    def set_data(self, data: ViewerData, first: bool = False) -> None:
        """Show a trial, or a reloaded one (a live file grew).

        The view stays, and the frame too unless the newest was shown (then the new newest).
        """
        self.data = data
        self.setWindowTitle(_title(data))
        fps = min(data.trial.fps, MAX_FPS)
        self.timer.setInterval(max(int(1000.0 / (TICKS_PER_FRAME * fps)), 1))
        if not first:
            self.scene.set_data(data)
            self.sagittal.set_data(data)
            self.plots.set_data(data)
        self.table.set_analysis(data.analysis)
        self.bar.set_frames(data.trial.n_frames)
        frame = self.playback.extend(data.times)
        self._update_status()
        self.show_frame(frame, force=True)

    def _update_status(self) -> None:
        """The status bar: what is missing, and whether the file is being written."""
        parts = list(self.data.missing) or ["complete: 2D, 3D, markers and metrics"]
        if self.follower is not None and self.follower.live:
            status = self.follower.status
            parts.insert(0, status or f"live: {self.data.trial.n_frames} frames so far")
        if self.follower is not None and self.follower.error:
            parts.append(f"last reload failed: {self.follower.error}")
        self.missing.setText("; ".join(parts))

    def status_text(self) -> str:
        """What the status bar says."""
        return self.missing.text()

    def show_frame(self, index: int, force: bool = False) -> None:
        """Draw frame ``index`` in every panel."""
        if index == self._shown and not force:
            return
        self._shown = index
        self.scene.show_frame(index)
        self.sagittal.show_frame(index)
        self.plots.show_time(self.playback.time)
        self._show_readout()

    def _show_readout(self) -> None:
        """Scrub bar, time readout and rep-table row of the frame shown."""
        pb, analysis = self.playback, self.data.analysis
        rep = 0 if analysis is None or not pb.n_frames else int(analysis.rep_of_frame[pb.frame])
        text = f"{pb.time:8.3f} s   frame {pb.frame + 1}/{pb.n_frames}   {pb.speed:g}x" + (
            f"   rep {rep}" if rep else ""
        )
        self.bar.display(pb.frame, text, pb.playing)
        self.table.show_rep(rep)

    def seek_frame(self, frame: int) -> None:
        """Show ``frame`` (scrub bar, keys)."""
        self.show_frame(self.playback.seek_frame(frame))
        self._show_readout()

    def seek_time(self, seconds: float) -> None:
        """Show the frame nearest to ``seconds`` (plot click, ``--at``)."""
        self.show_frame(self.playback.seek_time(seconds))
        self._show_readout()

    def seek_rep(self, rep: int) -> None:
        """Show the first frame of rep number ``rep``."""
        if self.data.analysis is not None and 0 < rep <= len(self.data.analysis.reps):
            self.seek_frame(self.data.analysis.reps[rep - 1].start_index)

    def step(self, frames: int) -> None:
        """Pause and move by ``frames``."""
        self.timer.stop()
        self.seek_frame(self.playback.step(frames))

    def toggle(self) -> None:
        """Play or pause."""
        if self.playback.toggle():
            self._last_tick = time.perf_counter()
            self.timer.start()
        else:
            self.timer.stop()
        self._show_readout()

    def change_speed(self, steps: int) -> None:
        """Faster (steps > 0) or slower."""
        speed = self.playback.change_speed(steps)
        self.bar.speed.blockSignals(True)
        self.bar.speed.setCurrentText(f"{speed:g}x")
        self.bar.speed.blockSignals(False)
        self._show_readout()

    def _speed_chosen(self, index: int) -> None:
        self.playback.speed = float(self.bar.speed.itemText(index).rstrip("x"))
        self._show_readout()

    def next_rep(self) -> None:
        """Jump to the next rep's start."""
        self.seek_frame(self.playback.next_rep(self.data.rep_starts))

    def previous_rep(self) -> None:
        """Jump to the previous rep's start."""
        self.seek_frame(self.playback.previous_rep(self.data.rep_starts))

    def _tick(self) -> None:
        """Playback timer: advance by the wall-clock time since the last tick."""
        now = time.perf_counter()
        frame = self.playback.tick(now - self._last_tick)
        self._last_tick = now
        self.show_frame(frame)
        if not self.playback.playing:
            self.timer.stop()
            self._show_readout()

    def _poll(self) -> None:
        """Live files: take a finished reload, start the next."""
        data = self.follower.poll() if self.follower is not None else None
        self.playback.live = self.follower is not None and self.follower.live
        if data is not None:
            self.set_data(data)
            self.follower.shown(data)
        else:
            self._update_status()

    def render(self) -> QtGui.QImage:  # type: ignore[override]
        """The window as an image, the GL view as drawn by GL (with the camera names).

        ``QWidget.grab`` does not draw the GL view (a native window of its own), so the GL
        view's framebuffer is painted over its place.
        """
        app = QtWidgets.QApplication.instance()
        for _ in range(3):
            app.processEvents()
        image = self.grab().toImage()
        container = self.scene.widget
        painter = QtGui.QPainter(image)
        at = container.mapTo(self, QtCore.QPoint(0, 0))
        painter.drawImage(at, self.scene.view.grabFramebuffer())
        painter.end()
        return image

    def screenshot(self, path: str | Path) -> Path:
        """Render the window (:meth:`render`) to a PNG file."""
        path = Path(path)
        if not self.render().save(str(path), "PNG"):
            msg = f"could not write the screenshot {path}"
            raise OSError(msg)
        return path

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Stop the timers and the reload thread."""
        self.timer.stop()
        self.poller.stop()
        if self.follower is not None:
            self.follower.close()
        super().closeEvent(event)
