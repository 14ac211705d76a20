"""Skin features + ambient + distance → core-temperature estimate, and its fit from reference pairs.

The model is linear, fitted by ordinary least squares: it minimises the squared error of the
core estimate, so the estimate is the best guess of the person's temperature, and the screening
threshold (not the fit) decides how cautious the gate is. Regression to the mean compresses high
fevers a little, which does not change a decision at 37.3 ℃ but is reported by
``calibrate check`` so nobody mistakes a 38.2 ℃ display for 38.5 ℃ oral.

Which features enter is decided by k-fold cross-validation with the one-standard-error rule:
the simplest candidate whose cross-validated MAE is within one standard error of the best one.
A richer model has to beat the simpler one by more than the noise of the comparison to be used.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.metrics import Agreement, agreement
from calibration.pairs import FEATURE_COLUMNS, ReferencePairs

FloatArray = npt.NDArray[np.float64]

PROFILE_FORMAT = 1

# Candidate feature sets, simplest first. The whole-face maximum is the single best feature on
# the FLIR data (and in Zhou 2020); canthus, ambient and distance must earn their place.
CANDIDATE_DESIGNS: tuple[tuple[str, ...], ...] = (
    ("skin_face_max_c",),
    ("skin_canthus_max_c",),
    ("skin_face_max_c", "skin_canthus_max_c"),
    ("skin_face_max_c", "ambient_c"),
    ("skin_face_max_c", "skin_canthus_max_c", "ambient_c"),
    ("skin_face_max_c", "skin_canthus_max_c", "ambient_c", "distance_m"),
)


class FitError(ValueError):
    """The pairs cannot support a fit; the message says what is missing."""


@dataclass(frozen=True)
class FittedOn:
    """The data a profile was fitted on."""

    file: str
    sha256: str
    n: int


@dataclass(frozen=True)
class CrossValidation:
    """Cross-validated figures of the chosen model, at the threshold it was judged by."""

    folds: int
    seed: int
    n: int
    mae_c: float
    bias_c: float
    loa_c: tuple[float, float]
    auc: float
    sensitivity: float
    specificity: float
    threshold_c: float
    fever_ref_c: float


@dataclass(frozen=True)
class Candidate:
    """One feature set tried during the fit, with its cross-validated MAE and standard error."""

    features: tuple[str, ...]
    cv_mae_c: float
    cv_mae_se_c: float


@dataclass(frozen=True)
class CoreProfile:
    """A device's fitted skin→core model. Stored as a versioned TOML file (``profile_io.py``).

    ``core_c = intercept_c + Σ coefficients[i] · feature_i``; an unknown feature is replaced by
    ``fill_values[i]`` (its median in the fitting data). ``feature_ranges`` are the fitting
    data's ranges: outside them the model extrapolates and a measurement is flagged.
    ``residual_sd_c`` is the cross-validated SD of (estimate − reference), the model's own
    uncertainty before any device drift is added.
    """

    name: str
    version: int
    method: str
    features: tuple[str, ...]
    intercept_c: float
    coefficients: tuple[float, ...]
    fill_values: tuple[float, ...]
    feature_ranges: tuple[tuple[float, float], ...]
    residual_sd_c: float
    fitted_on: FittedOn
    cv: CrossValidation
    candidates: tuple[Candidate, ...]
    format: int = PROFILE_FORMAT

    def __post_init__(self) -> None:
        n = len(self.features)
        unknown = [name for name in self.features if name not in FEATURE_COLUMNS]
        if unknown:
            raise ValueError(f"profile {self.name}: unknown feature(s) {unknown}")
        if not (len(self.coefficients) == len(self.fill_values) == len(self.feature_ranges) == n):
            raise ValueError(
                f"profile {self.name}: features, coefficients, fill_values and feature_ranges "
                "must have the same length"
            )


def fold_assignment(n: int, folds: int, seed: int) -> npt.NDArray[np.int64]:
    """Fold index per row: a seeded shuffle dealt round-robin, so folds differ in size by ≤ 1."""
    order = np.random.default_rng(seed).permutation(n)
    assignment = np.empty(n, dtype=np.int64)
    assignment[order] = np.arange(n) % folds
    return assignment


def _design(columns: FloatArray, fill: FloatArray) -> FloatArray:
    filled = np.where(np.isnan(columns), fill[None, :], columns)
    return np.column_stack([np.ones(columns.shape[0]), filled])


def _least_squares(columns: FloatArray, target_c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(coefficients with intercept first, fill values) of an OLS fit with median imputation."""
    fill: FloatArray = np.nanmedian(columns, axis=0).astype(np.float64)
    solution = np.linalg.lstsq(_design(columns, fill), target_c, rcond=None)[0]
    beta: FloatArray = solution.astype(np.float64)
    return beta, fill


def _cross_validated(
    columns: FloatArray, target_c: FloatArray, assignment: npt.NDArray[np.int64], folds: int
) -> FloatArray:
    """Out-of-fold predictions: every row predicted by a model that never saw it."""
    predicted = np.empty_like(target_c)
    for fold in range(folds):
        held_out = assignment == fold
        beta, fill = _least_squares(columns[~held_out], target_c[~held_out])
        predicted[held_out] = _design(columns[held_out], fill) @ beta
    return predicted


def usable_design(pairs_features: FloatArray, names: tuple[str, ...]) -> bool:
    # A feature known in fewer than half the rows would be mostly imputed: not a real feature.
    known = ~np.isnan(pairs_features[:, [FEATURE_COLUMNS.index(n) for n in names]])
    return bool((known.mean(axis=0) >= 0.5).all())


def fit_profile(
    pairs: ReferencePairs,
    *,
    name: str,
    version: int = 1,
    folds: int = 10,
    seed: int = 20240601,
    threshold_c: float = 37.3,
    fever_ref_c: float = 37.5,
    candidates: tuple[tuple[str, ...], ...] = CANDIDATE_DESIGNS,
) -> CoreProfile:
    """Fit a profile on reference pairs by least squares, choosing features by k-fold CV.

    Rows without a reference are left out. Raises ``FitError`` if too few rows remain.
    """
    if folds < 2:
        raise FitError(f"--folds must be at least 2, got {folds}")
    has_reference = ~np.isnan(pairs.reference_c)
    features = pairs.features[has_reference]
    target_c = pairs.reference_c[has_reference]
    n = int(target_c.size)
    if n < max(10, 2 * folds):
        raise FitError(
            f"{pairs.source}: {n} rows with a reference; a {folds}-fold fit needs at least "
            f"{max(10, 2 * folds)}"
        )
    assignment = fold_assignment(n, folds, seed)
    tried: list[tuple[Candidate, FloatArray]] = []
    for names in candidates:
        if not usable_design(features, names):
            continue
        columns = features[:, [FEATURE_COLUMNS.index(n) for n in names]]
        predicted = _cross_validated(columns, target_c, assignment, folds)
        abs_error = np.abs(predicted - target_c)
        candidate = Candidate(
            features=names,
            cv_mae_c=float(abs_error.mean()),
            cv_mae_se_c=float(abs_error.std(ddof=1) / np.sqrt(n)),
        )
        tried.append((candidate, predicted))
    if not tried:
        raise FitError(
            f"{pairs.source}: no skin feature is known in at least half the rows; "
            "fill skin_face_max_c or skin_canthus_max_c"
        )
    best = min(tried, key=lambda item: item[0].cv_mae_c)[0]
    within = [item for item in tried if item[0].cv_mae_c <= best.cv_mae_c + best.cv_mae_se_c]
    chosen, predicted = min(within, key=lambda item: (len(item[0].features), item[0].cv_mae_c))
    columns = features[:, [FEATURE_COLUMNS.index(n) for n in chosen.features]]
    beta, fill = _least_squares(columns, target_c)
    figures = agreement(predicted, target_c, threshold_c=threshold_c, fever_ref_c=fever_ref_c)
    return CoreProfile(
        name=name,
        version=version,
        method="ols",
        features=chosen.features,
        intercept_c=float(beta[0]),
        coefficients=tuple(float(b) for b in beta[1:]),
        fill_values=tuple(float(f) for f in fill),
        feature_ranges=tuple(
            (float(np.nanmin(columns[:, i])), float(np.nanmax(columns[:, i])))
            for i in range(columns.shape[1])
        ),
        residual_sd_c=float((predicted - target_c).std(ddof=1)),
        fitted_on=FittedOn(file=pairs.source, sha256=pairs.sha256, n=n),
        cv=_cross_validation(figures, folds=folds, seed=seed),
        candidates=tuple(item[0] for item in tried),
    )


def _cross_validation(figures: Agreement, *, folds: int, seed: int) -> CrossValidation:
    return CrossValidation(
        folds=folds,
        seed=seed,
        n=figures.n,
        mae_c=figures.mae_c,
        bias_c=figures.bias_c,
        loa_c=figures.loa_c,
        auc=figures.auc,
        sensitivity=figures.sensitivity,
        specificity=figures.specificity,
        threshold_c=figures.threshold_c,
        fever_ref_c=figures.fever_ref_c,
    )


SKIN_FEATURES = frozenset({"skin_face_max_c", "skin_canthus_max_c"})


def predict_core_c(profile: CoreProfile, features: FloatArray) -> FloatArray:
    """Core estimates in ℃ for rows of features in ``FEATURE_COLUMNS`` order (NaN = unknown).

    An unknown ambient or distance takes the profile's fill value; an unknown *skin* feature
    gives NaN: imputing the population's median skin would turn "not measured" into a normal
    temperature.
    """
    columns = features[:, [FEATURE_COLUMNS.index(n) for n in profile.features]]
    beta = np.asarray((profile.intercept_c, *profile.coefficients), dtype=np.float64)
    fill = np.asarray(profile.fill_values, dtype=np.float64)
    estimate: FloatArray = _design(columns, fill) @ beta
    skin = [i for i, name in enumerate(profile.features) if name in SKIN_FEATURES]
    if skin:
        estimate[np.isnan(columns[:, skin]).any(axis=1)] = np.nan
    return estimate


@dataclass(frozen=True)
class SkinFeatures:
    """One measurement's inputs to the core model. NaN means unknown."""

    skin_face_max_c: float
    skin_canthus_max_c: float
    ambient_c: float
    distance_m: float

    def as_row(self) -> FloatArray:
        return np.asarray(
            [[self.skin_face_max_c, self.skin_canthus_max_c, self.ambient_c, self.distance_m]],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class CoreEstimate:
    """A core-temperature estimate with its 1-σ uncertainty, both in ℃.

    ``extrapolated`` names the features outside the range the profile was fitted on.
    """

    core_c: float
    uncertainty_c: float
    extrapolated: tuple[str, ...]


def estimate_core(profile: CoreProfile, skin: SkinFeatures) -> CoreEstimate:
    """The profile's estimate for one measurement, with the profile's own uncertainty.

    A feature the model uses that lies outside its fitting range is named in ``extrapolated``
    and doubles the uncertainty: the fit says nothing about what happens out there.
    """
    row = skin.as_row()
    core_c = float(predict_core_c(profile, row)[0])
    outside = tuple(
        name
        for name, (low, high) in zip(profile.features, profile.feature_ranges, strict=True)
        if not np.isnan(value := float(row[0, FEATURE_COLUMNS.index(name)]))
        and not low <= value <= high
    )
    factor = 2.0 if outside else 1.0
    return CoreEstimate(
        core_c=core_c, uncertainty_c=profile.residual_sd_c * factor, extrapolated=outside
    )
