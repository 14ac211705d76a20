"""``tempgate-kiosk calibrate fit`` and ``calibrate check`` on real files."""

import json
from pathlib import Path

import pytest
from conftest import FLIR_PAIRS, run_calibrate_cli

from calibration.profile_io import load_profile


def test_check_with_the_shipped_profile_prints_the_agreed_json_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_calibrate_cli(["calibrate", "check", "--pairs", str(FLIR_PAIRS), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert list(figures) == [
        "n",
        "mae_c",
        "bias_c",
        "loa_c",
        "auc",
        "sensitivity",
        "specificity",
        "threshold_c",
        "fever_ref_c",
    ]
    assert figures["n"] == 1020
    assert figures["threshold_c"] == 37.3 and figures["fever_ref_c"] == 37.5
    assert figures["mae_c"] <= 0.22
    low, high = figures["loa_c"]
    assert low < figures["bias_c"] < high


def test_a_stricter_threshold_trades_specificity_for_sensitivity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_calibrate_cli(["calibrate", "check", "--pairs", str(FLIR_PAIRS), "--json"])
    default = json.loads(capsys.readouterr().out)
    run_calibrate_cli(
        ["calibrate", "check", "--pairs", str(FLIR_PAIRS), "--json", "--threshold", "37.1"]
    )
    strict = json.loads(capsys.readouterr().out)
    assert strict["sensitivity"] > default["sensitivity"]
    assert strict["specificity"] < default["specificity"]


def test_fit_writes_a_profile_that_check_then_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "device.toml"
    assert (
        run_calibrate_cli(["calibrate", "fit", "--pairs", str(FLIR_PAIRS), "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "10-fold cross-validated: n=1020" in printed
    profile = load_profile(out)
    assert profile.fitted_on.n == 1020
    assert (
        run_calibrate_cli(["calibrate", "check", "--pairs", str(FLIR_PAIRS), "--profile", str(out)])
        == 0
    )
    assert "sensitivity=" in capsys.readouterr().out


def test_bad_csv_exits_2_naming_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "skin_face_max_c,skin_canthus_max_c,ambient_c,distance_m,reference_c\n"
        "36.0,35.7,24,0.8,37.0\n36.1,35.8,24,0.8,hot\n"
    )
    assert run_calibrate_cli(["calibrate", "check", "--pairs", str(bad)]) == 2
    assert "bad.csv: row 3, column 'reference_c'" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    missing.write_text("skin_face_max_c,reference_c\n36,37\n")
    out = tmp_path / "never.toml"
    assert run_calibrate_cli(["calibrate", "fit", "--pairs", str(missing), "--out", str(out)]) == 2
    assert "missing column(s) skin_canthus_max_c, ambient_c, distance_m" in capsys.readouterr().err
    assert not out.exists()


def test_unreadable_profile_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("format = 1\nname = 'x'\n")
    assert (
        run_calibrate_cli(
            ["calibrate", "check", "--pairs", str(FLIR_PAIRS), "--profile", str(broken)]
        )
        == 2
    )
    assert "broken.toml: version: missing" in capsys.readouterr().err
