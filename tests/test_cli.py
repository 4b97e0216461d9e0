"""The ``mocap`` commands are thin: each writes what its library function writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.boards import default_lab_board, load_board
from calibration.toml_io import load_calibration, save_calibration
from datasets.synthetic.rigs import ring_rig
from mocap.cli import main


def test_board_command_writes_pdf_png_and_board_file(tmp_path: Path) -> None:
    out = tmp_path / "board.pdf"
    assert main(["board", "--out", str(out), "--dpi", "50", "--markers"]) == 0
    for name in ("board.pdf", "board.png", "board.toml", "board-markers.pdf"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert load_board(tmp_path / "board.toml") == default_lab_board()


def test_board_command_reports_a_bad_board_file_in_one_line(tmp_path: Path, capsys: object) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('type = "charuco"\ncolumns = 5\n')
    assert main(["board", "--out", str(tmp_path / "b.pdf"), "--board", str(bad)]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "bad.toml" in err
    assert not (tmp_path / "b.pdf").exists()


@pytest.mark.parametrize("fmt", ["toml", "caliscope", "qualisys"])
def test_convert_calibration_round_trips(tmp_path: Path, fmt: str) -> None:
    """Our TOML -> each format -> our TOML: cameras equal to 1e-6.

    caliscope and Qualisys store rotation matrices (and Qualisys millimetres and
    sub-pixel units), so the round trip converts units and rotations: equal to rounding,
    not bit for bit.
    """
    rig = ring_rig(3, seed=7)
    source = tmp_path / "calibration.toml"
    save_calibration(source, rig)
    exported = tmp_path / f"exported.{fmt}"
    back = tmp_path / "back.toml"
    assert main(["convert-calibration", str(source), "--to", fmt, "--out", str(exported)]) == 0
    assert main(["convert-calibration", str(exported), "--out", str(back)]) == 0
    again, _ = load_calibration(back)
    for est, tru in zip(again, rig, strict=True):
        assert est.name == tru.name
        assert np.allclose(est.matrix, tru.matrix, atol=1e-6)
        assert np.allclose(est.distortion, tru.distortion, atol=1e-6)
        assert np.allclose(est.center, tru.center, atol=1e-6)
        assert np.allclose(est.rotation_matrix, tru.rotation_matrix, atol=1e-6)


def test_convert_calibration_names_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "notes.toml"
    bad.write_text("hello = 1\n")
    out = tmp_path / "out.toml"
    assert main(["convert-calibration", str(bad), "--out", str(out)]) == 2
    assert "notes.toml" in capsys.readouterr().err
    assert not out.exists()
