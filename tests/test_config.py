"""The kiosk config: the shipped example is valid; every bad key is named, exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "kiosk.example.toml"
MINIMAL = """
[kiosk]
id = "k-1"
site = "school-1"
gate = "north"

[[devices]]
id = "thermo-1"
model = "gy-mcu90614"
"""


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_shipped_example_passes_check_with_a_summary() -> None:
    result = check(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "kiosk school-001-north-1 at site school-001, gate north" in result.stdout
    assert "decision threshold 37.3 ℃" in result.stdout


def test_defaults_fill_what_a_minimal_config_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert config.decision.threshold_c == 37.3
    assert config.mqtt_username == "k-1"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            MINIMAL.replace('gate = "north"', 'gate = "north"\ncolour = "red"'),
            "kiosk.colour: unknown key",
        ),
        (MINIMAL + "baud = 'fast'\n", "devices[0].baud: Input should be a valid integer"),
        (MINIMAL.replace('"gy-mcu90614"', '"gy-mcu99999"'), "devices[0].model: Input should be"),
        (MINIMAL + "[decision]\nthreshold_c = 42\n", "decision.threshold_c: "),
        (
            MINIMAL.replace('site = "school-1"', 'site = "School 1"'),
            "kiosk.site: String should match",
        ),
        (MINIMAL.replace("[[devices]]", "[[devicez]]"), "devicez: unknown key"),
        ("[kiosk\nid=1", "not valid TOML"),
    ],
)
def test_a_bad_config_exits_2_and_names_the_key(tmp_path: Path, change: str, expected: str) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(change)
    result = check(path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stdout == ""


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(MINIMAL.replace('id = "k-1"', 'id = "k-1"\nbogus = 1') + "baud = -3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 2


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    result = check(tmp_path / "nope.toml")
    assert result.returncode == 2
    assert "cannot read the file" in result.stderr
