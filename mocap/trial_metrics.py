"""The ``/metrics`` group of a trial file: derived metrics per frame and per rep.

:class:`TrialMetrics` holds named columns and knows nothing of what they mean (the hinge
analysis fills it, ``docs/hinge-metrics.md`` defines it); :mod:`mocap.trial` reads and
writes it with the rest of the trial. Layout (``docs/trial-format.md``)::

    /metrics                 attrs: definitions_version, software_version, <attrs>
    /metrics/frames          attrs: columns (names in order)
    /metrics/frames/<name>   (T,) float64 or int64, attr units
    /metrics/reps            attrs: columns
    /metrics/reps/<name>     (R,) float64, int64 or UTF-8 string, attr units
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import h5py
import numpy as np
import numpy.typing as npt

from mocap.version import software_version

GROUP = "metrics"
MetricsAttr = str | int | float


class MetricsFormatError(ValueError):
    """A ``/metrics`` group (in memory or on disk) that is not as documented."""


def _column(name: str, values: npt.ArrayLike, strings: bool) -> np.ndarray:
    """A read-only 1-D column: float64, int64 or (if ``strings``) str objects."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise MetricsFormatError(f"metrics column {name!r} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind in "OUS" and strings:
        text = [v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.tolist()]
        if not all(isinstance(v, str) for v in text):
            raise MetricsFormatError(f"metrics column {name!r} mixes strings and other values")
        arr = np.array(text, dtype=object)
    elif arr.dtype.kind in "biu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f" or arr.size == 0:
        arr = arr.astype(np.float64)
    else:
        kinds = "numbers or strings" if strings else "numbers"
        raise MetricsFormatError(f"metrics column {name!r} has dtype {arr.dtype}; expected {kinds}")
    arr.setflags(write=False)
    return arr


def _columns(kind: str, columns: Mapping[str, npt.ArrayLike], strings: bool) -> Mapping:
    """Frozen, checked columns of one length."""
    if not all(isinstance(k, str) and k and "/" not in k for k in columns):
        raise MetricsFormatError(f"metrics {kind} names must be non-empty, without '/'")
    out = {name: _column(name, values, strings) for name, values in columns.items()}
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise MetricsFormatError(f"metrics {kind} columns differ in length: {sorted(lengths)}")
    return MappingProxyType(out)


@dataclass(frozen=True, eq=False)
class TrialMetrics:
    """Metrics derived from a trial, stored under ``/metrics``.

    Attributes
    ----------
    definitions_version : str
        Which definitions the values follow, e.g. ``"hinge-metrics-1"``.
    frames : mapping of str to ndarray, shape (T,)
        Per-frame series (float64 or int64), in order.
    reps : mapping of str to ndarray, shape (R,)
        The per-rep table's columns (float64, int64 or str), in order.
    units : mapping of str to str
        Unit of each column (``"deg"``, ``"m"``, ...); absent means ``""``.
    attrs : mapping of str to str, int or float
        Anything else worth keeping, e.g. ``thresholds.<name>`` or ``problems``.
    software_version : str
        The software that computed them.
    """

    definitions_version: str
    frames: Mapping[str, npt.NDArray] = field(default_factory=dict)
    reps: Mapping[str, npt.NDArray] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    attrs: Mapping[str, MetricsAttr] = field(default_factory=dict)
    software_version: str = field(default_factory=software_version)

    def __post_init__(self) -> None:
        if not isinstance(self.definitions_version, str) or not self.definitions_version:
            raise MetricsFormatError("metrics need a definitions_version string")
        set_ = object.__setattr__
        set_(self, "frames", _columns("frames", self.frames, strings=False))
        set_(self, "reps", _columns("reps", self.reps, strings=True))
        set_(self, "units", MappingProxyType({str(k): str(v) for k, v in self.units.items()}))
        for key, value in self.attrs.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise MetricsFormatError(f"metrics attribute {key!r} must be str, int or float")
        set_(self, "attrs", MappingProxyType(dict(self.attrs)))

    @property
    def n_frames(self) -> int | None:
        """Length T of the per-frame series (None when there are none)."""
        return len(next(iter(self.frames.values()))) if self.frames else None

    @property
    def n_reps(self) -> int:
        """Number of rows R of the per-rep table."""
        return len(next(iter(self.reps.values()))) if self.reps else 0


def _write_table(group: h5py.Group, columns: Mapping[str, np.ndarray], units: Mapping) -> None:
    """Columns as 1-D datasets in ``group``, their order in its ``columns`` attribute."""
    names = np.array(list(columns), dtype=object)
    group.attrs.create("columns", names, dtype=h5py.string_dtype())
    for name, values in columns.items():
        text = values.dtype == object
        ds = group.create_dataset(name, data=values, dtype=h5py.string_dtype() if text else None)
        ds.attrs["units"] = units.get(name, "")


def write_metrics_group(f: h5py.File, metrics: TrialMetrics) -> None:
    """Write ``metrics`` as ``/metrics`` into the open file ``f``, replacing any old one."""
    if GROUP in f:
        del f[GROUP]
    group = f.create_group(GROUP)
    group.attrs["definitions_version"] = metrics.definitions_version
    group.attrs["software_version"] = metrics.software_version
    for key, value in metrics.attrs.items():
        group.attrs[key] = value
    _write_table(group.create_group("frames"), metrics.frames, metrics.units)
    _write_table(group.create_group("reps"), metrics.reps, metrics.units)


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _read_table(group: object, kind: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Columns and units of ``/metrics/<kind>`` in its recorded order."""
    if not isinstance(group, h5py.Group):
        raise MetricsFormatError(f"/metrics/{kind} is missing or not a group")
    order = [_text(n) for n in group.attrs.get("columns", sorted(group))]
    columns, units = {}, {}
    for name in order:
        ds = group.get(name)
        if not isinstance(ds, h5py.Dataset):
            raise MetricsFormatError(f"/metrics/{kind}/{name} is missing or not a dataset")
        text = h5py.check_string_dtype(ds.dtype) is not None
        columns[name] = ds.asstr()[()] if text else ds[()]
        units[name] = _text(ds.attrs.get("units", ""))
    return columns, units


def _attr(key: str, value: object) -> MetricsAttr:
    """An attribute of ``/metrics`` as str, int or float."""
    if isinstance(value, (bytes, str)):
        return _text(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise MetricsFormatError(f"/metrics attribute {key!r} is {value!r}; expected a scalar")


def read_metrics_group(f: h5py.File) -> TrialMetrics | None:
    """The ``/metrics`` group of the open file ``f``; None when the file has none."""
    group = f.get(GROUP)
    if group is None:
        return None
    if not isinstance(group, h5py.Group) or "definitions_version" not in group.attrs:
        raise MetricsFormatError("/metrics is not a group with a definitions_version")
    frames, frame_units = _read_table(group.get("frames"), "frames")
    reps, rep_units = _read_table(group.get("reps"), "reps")
    attrs = {
        key: _attr(key, value)
        for key, value in group.attrs.items()
        if key not in ("definitions_version", "software_version")
    }
    return TrialMetrics(
        definitions_version=_text(group.attrs["definitions_version"]),
        frames=frames,
        reps=reps,
        units={**frame_units, **rep_units},
        attrs=attrs,
        software_version=_text(group.attrs.get("software_version", "")),
    )
