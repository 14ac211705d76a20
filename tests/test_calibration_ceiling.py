"""The data's ceiling: the best screening figures any linear rule on the features can reach."""

import json

import numpy as np
import pytest
from conftest import FLIR_PAIRS, run_calibrate_cli

from calibration.ceiling import best_sensitivity_at, screening_ceiling
from calibration.pairs import parse_pairs
from calibration.profile_io import default_profile


def pairs_csv(face_c: np.ndarray, reference_c: np.ndarray) -> bytes:
    lines = ["skin_face_max_c,skin_canthus_max_c,ambient_c,distance_m,reference_c"]
    lines += [
        f"{f:.3f},{f - 0.3:.3f},24,0.8,{r:.3f}" for f, r in zip(face_c, reference_c, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_the_best_threshold_keeps_the_required_specificity() -> None:
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.55, 0.95])
    positive = np.array([False] * 10 + [True, True])
    # One false alarm allowed of ten afebrile: flag > 0.9, which misses the fever at 0.55.
    assert best_sensitivity_at(score, positive, 0.90) == (0.5, 0.9)
    # Four allowed: flag > 0.6, still short of the fever at 0.55; five allowed catch it.
    assert best_sensitivity_at(score, positive, 0.60) == (0.5, 0.6)
    assert best_sensitivity_at(score, positive, 0.50) == (1.0, 0.5)


def test_features_that_separate_the_fevers_have_a_ceiling_of_one() -> None:
    rng = np.random.default_rng(7)
    reference_c = rng.uniform(36.0, 39.0, 400)
    face_c = reference_c - 1.0 + rng.normal(0, 0.02, 400)
    ceilings = screening_ceiling(parse_pairs(pairs_csv(face_c, reference_c)))
    face_only = next(c for c in ceilings if c.features == ("skin_face_max_c",))
    assert face_only.sensitivity >= 0.99
    assert face_only.specificity >= 0.90
    assert face_only.auc > 0.99


def test_features_unrelated_to_fever_have_a_low_ceiling() -> None:
    rng = np.random.default_rng(8)
    reference_c = rng.uniform(36.0, 39.0, 400)
    face_c = rng.uniform(34.0, 37.0, 400)
    ceilings = screening_ceiling(parse_pairs(pairs_csv(face_c, reference_c)))
    assert max(c.sensitivity for c in ceilings) < 0.5


def test_on_the_flir_pairs_no_linear_rule_reaches_095_at_specificity_090() -> None:
    # Why issue 4's first target is out of reach on this data: the best any feature set allows,
    # with the threshold chosen in hindsight, stays below 0.95 at specificity 0.90. The shipped
    # profile, fitted for the estimate and not for the separation, sits at that ceiling.
    ceilings = screening_ceiling(parse_pairs(FLIR_PAIRS.read_bytes(), source=FLIR_PAIRS.name))
    assert len(ceilings) == 6
    best = max(c.sensitivity for c in ceilings)
    assert 0.93 < best < 0.95
    assert default_profile().cv.sensitivity <= best + 1e-9


def test_the_ceiling_command_prints_one_json_object_per_feature_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_calibrate_cli(["calibrate", "ceiling", "--pairs", str(FLIR_PAIRS), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["features"] == ["skin_face_max_c"]
    assert all(line["specificity"] >= 0.90 for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--specificity", "1.5"], "--specificity must lie between 0 and 1"),
        (["--folds", "1"], "--folds must be at least 2"),
        (["--fever-ref", "45"], "a ceiling needs both fevers and afebrile rows"),
    ],
)
def test_the_ceiling_command_refuses_bad_arguments_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_calibrate_cli(["calibrate", "ceiling", "--pairs", str(FLIR_PAIRS), *argv]) == 2
    assert message in capsys.readouterr().err
