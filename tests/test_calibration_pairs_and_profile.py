"""Reference pairs, the core fit on the real FDA/UMD data, and the shipped profile."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from conftest import FLIR_PAIRS

from calibration.core import (
    CoreProfile,
    SkinFeatures,
    estimate_core,
    fit_profile,
    predict_core_c,
)
from calibration.pairs import PairsError, ReferencePairs, parse_pairs
from calibration.profile_io import (
    ProfileError,
    default_profile,
    load_profile,
    profile_from_toml,
    profile_to_toml,
)

HEADER = "subject_id,skin_face_max_c,skin_canthus_max_c,ambient_c,distance_m,reference_c\n"


@pytest.fixture(scope="module")
def flir_pairs() -> ReferencePairs:
    if not FLIR_PAIRS.exists():
        pytest.fail(f"{FLIR_PAIRS} is the project's shared dataset and must be present")
    return parse_pairs(FLIR_PAIRS.read_bytes(), source=FLIR_PAIRS.name)


@pytest.fixture(scope="module")
def flir_profile(flir_pairs: ReferencePairs) -> CoreProfile:
    return fit_profile(flir_pairs, name="test", folds=10)


def test_empty_cells_are_unknown_and_other_columns_are_ignored() -> None:
    text = HEADER + "a,35.9,35.5,24,,37.0\nb,36.1,,23.5,0.8,37.2\n"
    pairs = parse_pairs(text.encode(), source="x.csv")
    assert pairs.n == 2
    assert np.isnan(pairs.column("distance_m")[0])
    assert np.isnan(pairs.column("skin_canthus_max_c")[1])
    assert pairs.reference_c.tolist() == [37.0, 37.2]
    assert pairs.sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_missing_column_is_named_with_what_the_file_needs() -> None:
    text = "skin_face_max_c,ambient_c,distance_m,reference_c\n36,24,0.8,37\n"
    with pytest.raises(PairsError, match=r"x\.csv: missing column\(s\) skin_canthus_max_c"):
        parse_pairs(text.encode(), source="x.csv")


def test_non_numeric_cell_names_its_row_and_column() -> None:
    text = HEADER + "a,35.9,35.5,24,0.8,37.0\nb,36.1,35.7,warm,0.8,37.2\n"
    with pytest.raises(PairsError, match=r"row 3, column 'ambient_c': 'warm' is not a number"):
        parse_pairs(text.encode(), source="x.csv")


def test_windows_line_ends_and_bom_parse_like_plain_text() -> None:
    text = "\ufeff" + (HEADER + "a,35.9,35.5,24,0.8,37.0\n").replace("\n", "\r\n")
    pairs = parse_pairs(text.encode("utf-8"), source="x.csv")
    assert pairs.features[0].tolist() == [35.9, 35.5, 24.0, 0.8]


def test_cross_validated_fit_on_flir_pairs_is_within_published_bounds(
    flir_profile: CoreProfile,
) -> None:
    cv = flir_profile.cv
    assert cv.n == 1020 and cv.folds == 10
    # The research notes' reproduction: face max, linear, MAE 0.209, AUC 0.973.
    assert cv.mae_c <= 0.22
    assert abs(cv.bias_c) < 0.02
    assert 0.45 <= (cv.loa_c[1] - cv.loa_c[0]) / 2 <= 0.60
    assert cv.auc >= 0.96
    assert cv.specificity >= 0.90
    # 105 of the 111 fevers; the 0.95 is not reached by any linear model on these
    # features (see README), so this pins what is honestly achieved.
    assert cv.sensitivity >= 0.94


def test_richer_models_must_beat_the_simplest_by_one_standard_error(
    flir_profile: CoreProfile,
) -> None:
    by_features = {c.features: c for c in flir_profile.candidates}
    chosen = by_features[flir_profile.features]
    best = min(flir_profile.candidates, key=lambda c: c.cv_mae_c)
    assert chosen.cv_mae_c <= best.cv_mae_c + best.cv_mae_se_c
    simpler = [c for c in flir_profile.candidates if len(c.features) < len(chosen.features)]
    assert all(c.cv_mae_c > best.cv_mae_c + best.cv_mae_se_c for c in simpler)


def test_fit_recovers_a_known_linear_law() -> None:
    rng = np.random.default_rng(3)
    n = 400
    skin = rng.normal(36.0, 0.5, n)
    ambient = rng.uniform(18, 30, n)
    core = 2.0 + 1.0 * skin - 0.05 * ambient + rng.normal(0, 0.02, n)
    rows = "".join(
        f"{i},{s:.4f},{s - 0.3:.4f},{a:.3f},0.8,{c:.4f}\n"
        for i, (s, a, c) in enumerate(zip(skin, ambient, core, strict=True))
    )
    profile = fit_profile(parse_pairs((HEADER + rows).encode()), name="law", folds=5)
    assert "ambient_c" in profile.features
    estimate = predict_core_c(profile, np.array([[36.0, 35.7, 24.0, 0.8]]))[0]
    assert estimate == pytest.approx(2.0 + 36.0 - 0.05 * 24.0, abs=0.01)


def test_shipped_profile_is_the_fit_on_flir_pairs(
    flir_pairs: ReferencePairs, flir_profile: CoreProfile
) -> None:
    shipped = default_profile()
    assert shipped.fitted_on.file == "flir_pairs.csv"
    assert shipped.fitted_on.sha256 == flir_pairs.sha256
    assert shipped.fitted_on.n == 1020
    assert shipped.features == flir_profile.features
    assert shipped.intercept_c == pytest.approx(flir_profile.intercept_c, abs=1e-9)
    assert shipped.coefficients == pytest.approx(flir_profile.coefficients, abs=1e-9)
    assert shipped.cv.mae_c == pytest.approx(flir_profile.cv.mae_c, abs=1e-9)


def test_profile_survives_a_toml_round_trip(flir_profile: CoreProfile, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(profile_to_toml(flir_profile), encoding="utf-8")
    assert load_profile(path) == flir_profile


def test_broken_profile_names_the_key() -> None:
    text = profile_to_toml(default_profile()).replace("intercept_c = ", "intercept_x = ")
    with pytest.raises(ProfileError, match=r"p\.toml: model\.intercept_c: missing"):
        profile_from_toml(text, source="p.toml")
    newer = profile_to_toml(default_profile()).replace("format = 1", "format = 2")
    with pytest.raises(ProfileError, match="format 2"):
        profile_from_toml(newer, source="p.toml")


def test_an_unmeasured_skin_feature_gives_no_estimate_but_unknown_ambient_is_filled() -> None:
    profile = default_profile()
    rows = np.array([[np.nan, 35.7, 24.0, 0.7], [36.0, 35.7, np.nan, np.nan]])
    estimate = predict_core_c(profile, rows)
    assert np.isnan(estimate[0])
    assert estimate[1] == pytest.approx(profile.intercept_c + profile.coefficients[0] * 36.0)


def test_estimate_outside_the_fitted_range_is_flagged_and_less_certain() -> None:
    profile = default_profile()
    inside = estimate_core(profile, SkinFeatures(36.0, 35.7, 24.0, 0.7))
    outside = estimate_core(profile, SkinFeatures(33.0, 32.7, 24.0, 0.7))
    assert inside.extrapolated == ()
    assert outside.extrapolated == ("skin_face_max_c",)
    assert outside.uncertainty_c > inside.uncertainty_c
