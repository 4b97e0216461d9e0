"""The ``mocap`` commands are thin: each writes what its library function writes."""

from __future__ import annotations

from pathlib import Path

from calibration.boards import default_lab_board, load_board
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
