"""Collecting a study: trial files with their labels and per-rep hinge metrics.

A study is either a **folder tree** of trial files (every ``*.h5`` below the folder; the
labels are each file's ``subject``, ``session`` and ``condition`` attributes) or a **CSV
list** with the columns ``path, subject, session, condition`` (optionally ``trial``;
paths relative to the CSV's folder), whose labels win over the files' attributes.

Each trial's per-rep table comes from its ``/metrics`` (``mocap hinge``); a file without
them (or with metrics of other definitions) is analysed now with
:func:`mocap.hinge.analyse_trial` and default thresholds (not stored in the file). A file
that cannot be used (missing, not a trial, no 3D, no reps, an empty label) is left out
with one line in :attr:`Study.problems`; only a study with nothing usable raises.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from calibration.files import read_text
from mocap.hinge.analysis import analyse_trial
from mocap.hinge.definitions import DEFINITIONS_VERSION, REP_COLUMNS
from mocap.trial import Trial, TrialFormatError, read_trial

LABELS: tuple[str, ...] = ("subject", "session", "condition")
"""The labels every trial needs."""
LIST_COLUMNS: tuple[str, ...] = ("path", *LABELS)
"""Required columns of a CSV study list (``trial`` is optional)."""
LONG_COLUMNS: tuple[str, ...] = ("subject", "session", "condition", "trial", "file", *REP_COLUMNS)
"""Columns of the long per-rep table, in order: labels, the file, the hinge per-rep table."""
TRIAL_SUFFIXES = (".h5", ".hdf5")


class StudyError(ValueError):
    """A study that cannot be compared at all (the message says why, in one line)."""


def natural_key(text: str) -> tuple:
    """Sort key ordering ``S2`` before ``S10`` (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts)


@dataclass(frozen=True, eq=False)
class StudyTrial:
    """One usable trial of a study.

    Attributes
    ----------
    file : str
        The file as shown in tables: relative to the study folder or the CSV's folder.
    path : Path
        Where it was read.
    subject, session, condition, trial : str
        Labels (``trial`` may be empty).
    reps : mapping of str to ndarray, shape (R,)
        The hinge per-rep table (``REP_COLUMNS``), R >= 1.
    analysed : bool
        True when the metrics were computed now (the file had none of this version).
    """

    file: str
    path: Path
    subject: str
    session: str
    condition: str
    trial: str
    reps: Mapping[str, np.ndarray]
    analysed: bool = False

    @property
    def n_reps(self) -> int:
        """Number of reps R."""
        return len(self.reps["rep"])

    def label(self, name: str) -> str:
        """The label ``name`` (``subject``, ``session``, ``condition`` or ``trial``)."""
        return str(getattr(self, name))


@dataclass(frozen=True, eq=False)
class Study:
    """The usable trials of a study and what was left out.

    Attributes
    ----------
    source : Path
        The folder or CSV list.
    trials : tuple of StudyTrial
        In the order listed (folder: natural order of the paths).
    problems : tuple of str
        Inputs left out, one line each.
    notes : tuple of str
        What was done beyond reading (files analysed now), one line each.
    n_listed : int
        Trial files found in the folder, or rows of the list.
    """

    source: Path
    trials: tuple[StudyTrial, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    n_listed: int = 0

    @property
    def n_reps(self) -> int:
        """Reps over all trials."""
        return sum(t.n_reps for t in self.trials)

    def rows(self) -> Iterator[dict[str, object]]:
        """The long table: one dict per rep with ``LONG_COLUMNS``."""
        for trial in self.trials:
            labels = {name: trial.label(name) for name in (*LABELS, "trial")}
            for i in range(trial.n_reps):
                values = {name: trial.reps[name][i] for name in REP_COLUMNS}
                yield {**labels, "file": trial.file, **values}


@dataclass(frozen=True)
class _Entry:
    """A file to read, with labels from a CSV list (None: from the file)."""

    path: Path
    file: str
    where: str
    labels: Mapping[str, str] | None = None


def _without_path(message: str, path: Path) -> str:
    """An error message without its leading ``path: ``."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _no_reps_reason(problems: str) -> str:
    """The analysis's reason for finding no rep (its 'no reps found' line, else the first)."""
    lines = [line for line in problems.splitlines() if line.strip()]
    found = [line for line in lines if line.startswith("no reps found")]
    return (found or lines or ["the analysis found none"])[0]


def _rep_table(trial: Trial, where: str) -> tuple[Mapping[str, np.ndarray], str, str] | str:
    """(per-rep table, problems text, note) of a trial, or why it cannot be used."""
    metrics, note = trial.metrics, ""
    if metrics is not None and metrics.definitions_version == DEFINITIONS_VERSION:
        missing = [name for name in REP_COLUMNS if name not in metrics.reps]
        if missing:
            return f"{where}: its /metrics/reps lack {', '.join(missing)}; left out"
        return metrics.reps, str(metrics.attrs.get("problems", "")), note
    if trial.points3d is None:
        return f"{where}: has no /metrics and no 3D points (points3d); left out"
    if metrics is None:
        note = f"{where}: has no /metrics; analysed now with the default thresholds"
    else:
        note = (
            f"{where}: its /metrics follow {metrics.definitions_version}; analysed now with "
            f"{DEFINITIONS_VERSION} and the default thresholds"
        )
    note += " (not stored; `mocap hinge FILE` stores them)"
    analysis = analyse_trial(trial)
    return analysis.to_trial_metrics().reps, "\n".join(analysis.problems), note


def _read(entry: _Entry) -> Trial | str:
    """The trial file of ``entry``, or why it cannot be read."""
    try:
        return read_trial(entry.path)
    except FileNotFoundError:
        return f"{entry.where}: file not found; left out"
    except TrialFormatError as exc:
        why = _without_path(str(exc), entry.path)
        return f"{entry.where}: not a trial file ({why}); left out"
    except OSError as exc:  # e.g. no permission
        return f"{entry.where}: cannot be read ({exc.strerror or exc}); left out"


def _load(entry: _Entry) -> tuple[StudyTrial | None, str, str]:
    """(the trial, "", note) of ``entry``, or (None, why it is left out, note)."""
    where, trial = entry.where, _read(entry)
    if isinstance(trial, str):
        return None, trial, ""
    labels = entry.labels
    if labels is None:
        labels = {name: getattr(trial.info, name).strip() for name in LABELS}
        empty = [name for name in LABELS if not labels[name]]
        if empty:
            problem = (
                f"{where}: empty {', '.join(empty)} label (file attribute); left out: set it, "
                "or list the files in a CSV with path, subject, session, condition"
            )
            return None, problem, ""
    table = _rep_table(trial, where)
    if isinstance(table, str):
        return None, table, ""
    reps, problems, note = table
    if not len(reps["rep"]):
        return None, f"{where}: no reps ({_no_reps_reason(problems)}); left out", note
    study_trial = StudyTrial(
        entry.file,
        entry.path,
        labels["subject"],
        labels["session"],
        labels["condition"],
        labels.get("trial") or trial.info.trial.strip(),
        MappingProxyType(dict(reps)),
        analysed=bool(note),
    )
    return study_trial, "", note


def _folder_entries(root: Path) -> list[_Entry]:
    """Every trial file below ``root`` (hidden files and folders skipped), natural order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and name.lower().endswith(TRIAL_SUFFIXES):
                found.append(Path(folder) / name)
    if not found:
        msg = f"{root}: no trial files (*.h5) in this folder or below it"
        raise StudyError(msg)
    entries = []
    for path in found:
        file = path.relative_to(root).as_posix()
        entries.append(_Entry(path, file, file))
    return sorted(entries, key=lambda e: natural_key(e.file))


def _list_reader(path: Path) -> csv.DictReader:
    """A DictReader of the CSV list with lower-case, stripped column names."""
    text = read_text(path, "study list", StudyError).lstrip("\ufeff")  # Excel writes a BOM
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in LIST_COLUMNS if name not in header]
    if missing:
        msg = (
            f"{path}: a study list needs the columns {', '.join(LIST_COLUMNS)} "
            f"(optionally trial); missing: {', '.join(missing)}"
        )
        raise StudyError(msg)
    reader.fieldnames = header
    return reader


def _list_entries(path: Path) -> tuple[list[_Entry], list[str]]:
    """The files of a CSV list (paths relative to its folder) and rows left out."""
    reader = _list_reader(path)
    entries, problems, seen = [], [], {}
    for row in reader:
        cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if not any(cells.values()):
            continue
        line = reader.line_num
        where = f"{path.name} line {line} ({cells['path'] or 'no path'})"
        empty = [name for name in LIST_COLUMNS if not cells[name]]
        if empty:
            problems.append(f"{where}: empty {', '.join(empty)}; left out")
            continue
        file_path = path.parent / cells["path"]
        key = os.path.normcase(file_path.resolve())
        if key in seen:
            problems.append(f"{where}: the same file as line {seen[key]}; left out")
            continue
        seen[key] = line
        labels = {name: cells[name] for name in LABELS}
        labels["trial"] = cells.get("trial", "")
        entries.append(_Entry(file_path, Path(cells["path"]).as_posix(), where, labels))
    if not entries and not problems:
        msg = f"{path}: the study list has no rows"
        raise StudyError(msg)
    return entries, problems


def collect_study(source: str | os.PathLike[str]) -> Study:
    """Collect the trials of a study (a folder tree or a CSV list) and their per-rep metrics.

    Parameters
    ----------
    source : path-like
        A folder (every ``*.h5`` below it; labels from the files' attributes) or a CSV
        list with columns ``path, subject, session, condition`` (and optionally ``trial``).

    Returns
    -------
    Study
        The usable trials; ``problems`` says which inputs were left out and why.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    StudyError
        For a folder without trial files or a CSV list without the needed columns or rows.
    """
    source = Path(source)
    if source.is_dir():
        entries, problems = _folder_entries(source), []
    elif source.is_file():
        entries, problems = _list_entries(source)
    else:
        msg = f"study not found: {source} (a folder of trial files or a CSV list)"
        raise FileNotFoundError(msg)
    listed = len(entries) + len(problems)  # with the rows of a list left out already
    trials, notes = [], []
    for entry in entries:
        trial, problem, note = _load(entry)
        trials += [trial] if trial is not None else []
        problems += [problem] if problem else []
        notes += [note] if note else []
    return Study(source, tuple(trials), tuple(problems), tuple(notes), listed)
