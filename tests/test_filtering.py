"""Trajectory smoothing: the Butterworth response, zero lag, exact spline gaps, median spikes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfreqz

from mocap.filtering import (
    butterworth_lowpass,
    fill_gaps,
    median_prefilter,
    smooth_trajectories,
)

FPS = 60.0


def _sine(frequency_hz: float, seconds: float = 20.0) -> np.ndarray:
    """(T, 1, 3) trajectory: a unit sine on X, zeros on Y and Z."""
    t = np.arange(round(seconds * FPS)) / FPS
    points = np.zeros((t.size, 1, 3))
    points[:, 0, 0] = np.sin(2 * np.pi * frequency_hz * t)
    return points


def _amplitude(signal: np.ndarray, frequency_hz: float) -> float:
    """Least-squares amplitude of a sine of ``frequency_hz`` in the middle half of (T,) data."""
    t = np.arange(signal.size) / FPS
    middle = slice(signal.size // 4, 3 * signal.size // 4)
    basis = np.stack([np.sin(2 * np.pi * frequency_hz * t), np.cos(2 * np.pi * frequency_hz * t)])
    coefficients, *_ = np.linalg.lstsq(basis[:, middle].T, signal[middle], rcond=None)
    return float(np.hypot(*coefficients))


def _cubic(t: np.ndarray) -> np.ndarray:
    """(T, 2, 3) trajectories that are cubic polynomials of time (seconds)."""
    x = 0.4 * t**3 - 1.1 * t**2 + 0.3 * t + 0.2
    base = np.stack([x, -0.5 * x + 1.0, 0.1 * t**3 + 0.9], axis=-1)
    return np.stack([base, 2.0 * base], axis=1)


def test_slow_motion_passes_unchanged() -> None:
    """A 1 Hz sine keeps its amplitude to 1 % under a 6 Hz 4th-order filter.

    The forward-backward gain at 1 Hz is |H|^2 = 1 - 6e-7: 1 % is loose, so this checks
    the filter is low-pass with the right cut-off, not a rounding detail.
    """
    result = butterworth_lowpass(_sine(1.0), FPS, cutoff_hz=6.0, order=4)
    assert _amplitude(result.points3d[:, 0, 0], 1.0) == pytest.approx(1.0, rel=0.01)
    assert (result.runs_filtered, result.runs_unfiltered) == (1, 0)  # one keypoint, no gap


@pytest.mark.parametrize("frequency_hz", [6.0, 9.0, 12.0])
def test_fast_motion_is_attenuated_as_butterworth_says(frequency_hz: float) -> None:
    """Amplitude at and above the cut-off equals the squared Butterworth response.

    filtfilt applies H twice, so the gain is |H(f)|^2 (0.5 at the cut-off); the measured
    steady-state amplitude matches scipy's own response to 0.1 % (what remains of the edge
    transients in the middle of 20 s).
    """
    result = butterworth_lowpass(_sine(frequency_hz), FPS, cutoff_hz=6.0, order=4)
    sos = butter(4, 6.0, fs=FPS, output="sos")
    _, response = sosfreqz(sos, worN=[frequency_hz], fs=FPS)
    expected = abs(response[0]) ** 2
    measured = _amplitude(result.points3d[:, 0, 0], frequency_hz)
    assert measured == pytest.approx(expected, rel=1e-3)


def test_filter_has_no_lag() -> None:
    """A filtered step still crosses half-way exactly between its two frames.

    The zero-phase response is antisymmetric about the step, so f[k-1] + f[k] = 1 to
    float rounding (1e-9); a one-way filter at 6 Hz would be ~40 ms late.
    """
    points = np.zeros((600, 1, 3))
    points[300:] = 1.0
    filtered = butterworth_lowpass(points, FPS, cutoff_hz=6.0).points3d[:, 0, 0]
    assert filtered[299] + filtered[300] == pytest.approx(1.0, abs=1e-9)
    assert filtered[299] < 0.5 < filtered[300]


def test_short_runs_are_left_alone_and_counted() -> None:
    """Runs too short for filtfilt's padding (15 frames at order 4) are unfiltered, NaN kept."""
    points = _sine(8.0, seconds=2.0)  # 120 frames
    points[50] = np.nan
    points[100:110] = np.nan
    points[-1] = np.nan  # runs: 0-49, 51-99 and the 9 frames 110-118
    short = slice(110, 119)
    result = butterworth_lowpass(points, FPS, cutoff_hz=6.0)
    assert np.isnan(result.points3d[[50, 100, 109, -1]]).all()
    np.testing.assert_array_equal(result.points3d[short], points[short])
    assert (result.runs_filtered, result.runs_unfiltered, result.frames_unfiltered) == (2, 1, 9)
    assert not np.allclose(result.points3d[:50], points[:50])  # the long runs were filtered


def test_short_gaps_are_filled_exactly_on_a_cubic() -> None:
    """Gaps up to max_gap_s are the cubic's own values (1e-9); longer ones stay NaN.

    A not-a-knot cubic spline reproduces a cubic polynomial exactly, so any error beyond
    float rounding would be a wrong time axis or a wrong segment.
    """
    t = np.arange(300) / FPS
    truth = _cubic(t)
    points = truth.copy()
    points[40:41, 0] = np.nan  # 1 frame
    points[100:106, 0] = np.nan  # 6 frames = 0.1 s: filled
    points[200:207, 0] = np.nan  # 7 frames: too long
    points[:3, 1] = np.nan  # before the first sample: not a gap
    points[150:153, 1] = np.nan
    points[-2:, 1] = np.nan  # after the last sample
    result = fill_gaps(points, FPS, max_gap_s=0.1)
    filled = np.isfinite(result.points3d[..., 0]) & np.isnan(points[..., 0])
    assert filled.sum() == 1 + 6 + 3
    assert (result.gaps_filled, result.frames_filled) == (3, 10)
    np.testing.assert_allclose(result.points3d[filled], truth[filled], atol=1e-9)
    assert np.isnan(result.points3d[200:207, 0]).all()
    assert np.isnan(result.points3d[:3, 1]).all()
    assert np.isnan(result.points3d[-2:, 1]).all()
    np.testing.assert_array_equal(result.points3d[~filled], points[~filled])


def test_median_removes_spikes_and_keeps_monotonic_motion() -> None:
    """Spikes of 1-2 frames, also next to a gap, vanish; a ramp is unchanged (to 1e-12).

    A median window holds as many samples on each side of its frame, so monotonic motion
    keeps its exact values; a median over a spike of n frames is off by at most n frames'
    travel of the ramp (0.01 m / frame here).
    """
    ramp = np.linspace(0.0, 3.0, 300)[:, None, None] * np.ones((1, 2, 3))
    np.testing.assert_allclose(median_prefilter(ramp, 7), ramp, atol=1e-12)
    spiky = ramp.copy()
    spiky[50, 0, 0] += 0.5
    spiky[120:122, 0, 1] -= 0.8  # two frames
    spiky[200, 1] = np.nan
    spiky[201, 1, 2] += 1.0  # right after a gap
    result = median_prefilter(spiky, 7)
    error = np.abs(result - ramp)
    assert np.nanmax(error) <= 2 * 3.0 / 299 + 1e-12
    assert np.isnan(result[200, 1]).all()
    assert np.isfinite(result[201, 1]).all()


def test_smoothing_applies_every_step() -> None:
    """Median, gap filling and low-pass together: a noisy, spiky, gappy cubic comes back.

    1 mm noise on a slow cubic: the 6 Hz band holds ~20 % of the noise power up to 30 Hz,
    so the RMS error drops to ~0.45 mm (bound 0.6 mm); a 0.3 m spike that got through
    would leave centimetres, the bound on the maximum is 2.5 mm (~5 sigma).
    """
    t = np.arange(600) / FPS
    truth = _cubic(t / 4)  # slow: everything below 1 Hz
    rng = np.random.default_rng(0)
    points = truth + rng.normal(0.0, 0.001, truth.shape)
    points[300, 0, 2] += 0.3
    points[400:403, 1] = np.nan
    result = smooth_trajectories(points, FPS, cutoff_hz=6.0, max_gap_s=0.1, median_window=5)
    assert result.gaps_filled == 1
    assert result.frames_filled == 3
    assert result.runs_filtered == 2  # one run per keypoint once the gap is filled
    middle = slice(30, -30)  # filtfilt's edge padding extrapolates the noise
    error = np.abs(result.points3d[middle] - truth[middle])
    assert np.sqrt(np.mean(error**2)) < 0.0006
    assert error.max() < 0.0025
    assert np.isfinite(result.points3d).all()


def test_bad_input_is_refused() -> None:
    """Shapes and options are checked, naming what is wrong."""
    points = _sine(1.0, seconds=1.0)
    with pytest.raises(ValueError, match=r"\(T, J, 3\)"):
        butterworth_lowpass(points[:, 0], FPS, 6.0)
    with pytest.raises(ValueError, match="fps / 2 = 30 Hz"):
        butterworth_lowpass(points, FPS, 30.0)
    with pytest.raises(ValueError, match="odd"):
        median_prefilter(points, 4)
    with pytest.raises(ValueError, match="max_gap_s"):
        fill_gaps(points, FPS, -1.0)
    with pytest.raises(ValueError, match="fps"):
        fill_gaps(points, 0.0, 0.1)
