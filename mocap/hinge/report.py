"""The hinge report: one self-contained HTML file a clinician reads without the docs.

:func:`write_hinge_report` writes a summary, what was missing, each rep's faults in plain
words, a per-rep table, the hip path of every rep in the sagittal plane and the angle
curves over time with the reps shaded. Figures are PNG images embedded as base64; there is
no script and no external file. matplotlib (``Figure`` and the Agg canvas only) is imported
while a report is written, as in ``calibration/report.py``.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.figures import REPORT_CSS, new_figure, png_img
from calibration.files import atomic_write_text
from mocap.hinge.analysis import HingeAnalysis, RepResult
from mocap.hinge.definitions import LOCKOUT_WINDOW_S
from mocap.hinge.faults import FAULT_CODES
from mocap.trial import TrialInfo
from mocap.version import software_version

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
"""Resolution of the embedded figures."""

ANGLE_PANELS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Body angles (change from standing)",
        (
            ("trunk_flexion_deg", "trunk forward lean"),
            ("hip_flexion_deg", "hip bend"),
            ("knee_flexion_deg", "knee bend"),
        ),
    ),
    (
        "Head and back (change from standing)",
        (
            ("head_trunk_deg", "head vs trunk (- = neck cranked back)"),
            ("lumbar_flexion_deg", "lower-back rounding"),
            ("thoracic_flexion_deg", "upper-back rounding"),
        ),
    ),
)
"""The angle-curve panels: title and (series, label) pairs."""

FAULT_NAMES: dict[str, str] = {
    "squat": "squatting instead of hinging",
    "rounding": "rounded back",
    "cranked_neck": "neck cranked back",
    "knees_bent": "knees bent too much",
    "lean_back": "leaning back at the top",
    "load_drift": "hands drifting away from the body",
}
"""Plain words for each fault code."""

TABLE: tuple[tuple[str, str, float, str], ...] = (
    ("hip_back_m", "Hips back", 100.0, "cm"),
    ("hip_down_m", "Hips down", 100.0, "cm"),
    ("hinge_ratio", "Back : down", 1.0, ""),
    ("trunk_flexion_deg", "Trunk lean", 1.0, "°"),
    ("hip_flexion_deg", "Hip bend", 1.0, "°"),
    ("knee_flexion_deg", "Knee bend", 1.0, "°"),
    ("head_trunk_deg", "Head vs trunk", 1.0, "°"),
    ("lumbar_flexion_deg", "Lower back", 1.0, "°"),
    ("trunk_chord_shortening_pct", "Trunk shortening", 1.0, "%"),
    ("lockout_extension_deg", "Lean back after", 1.0, "°"),
    ("load_offset_m", "Hands ahead of mid-foot", 100.0, "cm"),
)
"""Per-rep table columns: metric, heading, scale, unit."""

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Hips back / down",
        "how far the middle of the hips moved backwards and downwards "
        "from standing, at the bottom of the rep. A hinge moves the hips mostly back.",
    ),
    (
        "Back : down",
        "hips back divided by hips down (large = a hinge; below 1 = the hips "
        "went more down than back, as in a squat).",
    ),
    ("Trunk lean", "how far the line from the hips to the shoulders tipped forward from standing."),
    ("Hip bend", "trunk lean minus thigh tilt: how much the hips bent."),
    ("Knee bend", "how much the knees bent from standing."),
    (
        "Head vs trunk",
        "the head's tilt relative to the trunk; negative means the neck "
        "bent back (looking up, 'cranked').",
    ),
    ("Lower back", "rounding between the skin markers at T12, L3 and S1 (needs markers)."),
    (
        "Trunk shortening",
        "how much closer the shoulders came to the hips; a rounding back "
        "shortens it (used when there are no markers).",
    ),
    (
        "Lean back after",
        "the most the trunk leaned back past standing in the half second "
        "after the rep; negative means past upright.",
    ),
    (
        "Hands ahead of mid-foot",
        "how far in front of the middle of the feet the hands were at the bottom.",
    ),
)
"""Plain-words meaning of each table column (for readers without the docs)."""

_CSS = (
    REPORT_CSS
    + """
.fault { color: #a40000; }
"""
)

# ----------------------------------------------------------------------------- figures


def _new_figure(width_in: float, height_in: float) -> Figure:
    """A constrained-layout Agg figure at this report's resolution."""
    return new_figure(width_in, height_in, DPI)


def _png(figure: Figure, alt: str) -> str:
    """The figure as an embedded PNG ``<img>``."""
    return png_img(figure, alt, DPI)


def _colour(rep: int) -> str:
    """Colour of rep number ``rep`` (tab10, cycled)."""
    return f"C{(rep - 1) % 10}"


def _path_frames(analysis: HingeAnalysis, rep: RepResult) -> slice:
    """Frames drawn for a rep: its last standing frame to the end of its lockout window."""
    after = np.flatnonzero(analysis.times <= rep.end_s + LOCKOUT_WINDOW_S)
    return slice(rep.standing[1], int(after[-1]) + 1 if after.size else rep.end_index + 1)


def hip_path_figure(analysis: HingeAnalysis) -> Figure:
    """The hips' path in every rep, seen from the subject's right side."""
    figure = _new_figure(5.5, 4.8)
    ax = figure.add_subplot()
    for rep in analysis.reps:
        part = _path_frames(analysis, rep)
        forward = -100.0 * analysis.series["hip_back_m"][part]
        up = -100.0 * analysis.series["hip_down_m"][part]
        label = f"rep {rep.rep} ({rep.pattern or '?'})"
        ax.plot(forward, up, color=_colour(rep.rep), label=label)
        i = rep.bottom_index - part.start
        ax.plot(forward[i], up[i], "o", color=_colour(rep.rep))
    ax.plot([0], [0], "k+", markersize=12, label="standing")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("hip movement: backward (-) / forward (+), cm")
    ax.set_ylabel("down (-) / up (+), cm")
    ax.set_title("Hip path of each rep (subject facing right; dot = bottom)", fontsize="medium")
    ax.grid(alpha=0.3)
    if analysis.reps:
        ax.legend(fontsize="small")
    return figure


def _shade_reps(ax: Axes, analysis: HingeAnalysis) -> None:
    """Shade each rep's start..end and number it."""
    for rep in analysis.reps:
        ax.axvspan(rep.start_s, rep.end_s, color=_colour(rep.rep), alpha=0.12, lw=0)
        where = ax.get_xaxis_transform()
        ax.text(rep.bottom_s, 0.97, str(rep.rep), transform=where, ha="center", va="top")


def angles_figure(analysis: HingeAnalysis) -> Figure:
    """Angle curves over time, reps shaded and numbered."""
    figure = _new_figure(11.0, 6.5)
    axes = figure.subplots(len(ANGLE_PANELS), 1, sharex=True)
    for ax, (title, curves) in zip(axes, ANGLE_PANELS, strict=True):
        _shade_reps(ax, analysis)
        for name, label in curves:
            values = analysis.series[name]
            if np.isfinite(values).any():
                ax.plot(analysis.times, values, label=label)
            else:
                ax.plot([], [], " ", label=f"{label}: not measured (landmarks missing)")
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_ylabel("degrees")
        ax.set_title(title, loc="left", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="upper right")
    axes[-1].set_xlabel("time (s); shaded: reps, numbered")
    return figure


# ----------------------------------------------------------------------------- html


def _number(value: float, scale: float = 1.0, digits: int = 1) -> str:
    """A value for a table cell; '–' when it could not be measured."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value * scale:.{digits}f}"


def _summary(analysis: HingeAnalysis, source: str, info: TrialInfo) -> str:
    """The summary table."""
    labels = ", ".join(f"{k} {v}" for k, v in vars(info).items() if v) or "–"
    times = analysis.times
    duration = f"{times[-1] - times[0]:.1f} s, {len(times)} frames" if len(times) else "empty"
    patterns = [rep.pattern for rep in analysis.reps]
    reps = (
        f"{len(analysis.reps)} ({patterns.count('hinge')} hinge, {patterns.count('squat')} squat)"
    )
    rows = [
        ("Trial", source),
        ("Labels", labels),
        ("Recording", duration),
        ("Reps found", reps),
        ("Definitions", f"{analysis.definitions_version} (docs/hinge-metrics.md)"),
        ("Software", software_version()),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{body}</table>'


def _problems(analysis: HingeAnalysis) -> str:
    """The box of what was missing or skipped (or an all-clear)."""
    if not analysis.problems:
        return '<p class="ok">Every landmark needed was found and every rep was analysed.</p>'
    items = "".join(f"<li>{html.escape(p)}</li>" for p in analysis.problems)
    return f'<div class="warnings"><ul>{items}</ul></div>'


def _rep_faults(rep: RepResult) -> str:
    """One rep's faults in plain words (and what could not be checked)."""
    pattern = rep.pattern or "pattern unknown"
    head = f"<b>Rep {rep.rep}</b> ({rep.start_s:.1f}–{rep.end_s:.1f} s, {pattern}): "
    if rep.faults:
        items = "".join(f'<li class="fault">{html.escape(f.message)}</li>' for f in rep.faults)
        text = f"{head}<ul>{items}</ul>"
    else:
        text = head + "no fault found."
    if rep.unchecked:
        skipped = ", ".join(FAULT_NAMES[c] for c in rep.unchecked)
        text += (
            f' <span class="note">Not checked (landmarks missing): {html.escape(skipped)}.</span>'
        )
    return f"<li>{text}</li>"


def _faults(analysis: HingeAnalysis) -> str:
    """Fault flags of every rep."""
    if not analysis.reps:
        return "<p>No reps, so nothing to check.</p>"
    return "<ul>" + "".join(_rep_faults(rep) for rep in analysis.reps) + "</ul>"


def _table(analysis: HingeAnalysis) -> str:
    """The per-rep table."""
    heads = ["Rep", "Start–end (s)", "Pattern"]
    heads += [f"{label} ({unit})" if unit else label for _, label, _, unit in TABLE]
    heads.append("Faults")
    rows = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in heads) + "</tr>"]
    for rep in analysis.reps:
        cells = [str(rep.rep), f"{rep.start_s:.2f}–{rep.end_s:.2f}", rep.pattern or "?"]
        cells += [
            _number(rep.values[name], scale, 2 if name == "hinge_ratio" else 1)
            for name, _, scale, _ in TABLE
        ]
        cells.append(", ".join(FAULT_NAMES[f.code] for f in rep.faults) or "none")
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _thresholds(analysis: HingeAnalysis) -> str:
    """The limits used, in one sentence."""
    t = analysis.thresholds
    return (
        f'<p class="note">Limits used: hinge when the hips bend at least '
        f"{t.squat_hip_to_knee_ratio:g} times as much as the knees; lower back "
        f"{t.rounding_lumbar_deg:g}° (without markers: trunk shortening "
        f"{t.rounding_chord_pct:g} %); neck {-t.cranked_neck_deg:g}° back; knees "
        f"{t.knees_bent_deg:g}°; lean back {-t.lean_back_deg:g}°; hands "
        f"{100 * t.load_offset_m:g} cm ahead of the mid-foot. Checked in this order: "
        f"{', '.join(FAULT_NAMES[c] for c in FAULT_CODES)}.</p>"
    )


def _glossary() -> str:
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in GLOSSARY)
    return f'<ul class="note">{items}</ul>'


def hinge_report_html(
    analysis: HingeAnalysis, source: str = "", info: TrialInfo | None = None
) -> str:
    """The report as one HTML document (figures embedded; no script, no external file).

    Parameters
    ----------
    analysis : HingeAnalysis
        The analysis to show.
    source : str
        The trial file's name, shown in the summary.
    info : TrialInfo, optional
        Subject, session, trial and condition labels.
    """
    path = _png(hip_path_figure(analysis), "hip path of each rep")
    angles = _png(angles_figure(analysis), "angle curves over time")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hip-hinge report</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Hip-hinge report</h1>
{_summary(analysis, source, info or TrialInfo())}
<h2>Missing or skipped</h2>
{_problems(analysis)}
<h2>What to look at, rep by rep</h2>
{_faults(analysis)}
{_thresholds(analysis)}
<h2>Reps at a glance</h2>
{_table(analysis)}
<p class="note">Values at the bottom of each rep (the moment the hips bent most), as
changes from the standing posture just before the rep.</p>
{_glossary()}
<h2>Hip path</h2>
<p class="note">Seen from the subject's right side, facing right. A hip hinge moves the hips
mostly backwards (to the left); a squat mostly down.</p>
<figure>{path}</figure>
<h2>Angles over time</h2>
<figure>{angles}</figure>
</body>
</html>
"""


def write_hinge_report(
    path: str | os.PathLike[str],
    analysis: HingeAnalysis,
    source: str = "",
    info: TrialInfo | None = None,
) -> Path:
    """Write :func:`hinge_report_html` to ``path`` atomically; returns the path."""
    return atomic_write_text(path, hinge_report_html(analysis, source, info))
