"""The data's ceiling: how well can any linear screening rule on these features find fevers?

A profile's sensitivity and specificity at its threshold can only be as good as the features
allow. For each candidate feature set this fits a logistic model of "reference >= fever line",
a classifier trained for exactly that separation, by k-fold cross-validation, and then picks the
threshold on its out-of-fold scores *in hindsight*: the best sensitivity any threshold reaches at
the required specificity. Hindsight makes the figure optimistic, so it is a ceiling: where it
falls short of a target, no fit of a linear rule on these features meets that target on this
data, and the way forward is other data or other features, not another fit.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.core import CANDIDATE_DESIGNS, fold_assignment, usable_design
from calibration.metrics import roc_auc
from calibration.pairs import FEATURE_COLUMNS, ReferencePairs

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_NEWTON_STEPS = 40
# A little ridge keeps Newton's method finite when a fold happens to separate perfectly.
_RIDGE = 1e-3


@dataclass(frozen=True)
class Ceiling:
    """The best screening figures a feature set supports on the data, cross-validated scores
    with the threshold chosen in hindsight."""

    features: tuple[str, ...]
    auc: float
    sensitivity: float
    specificity: float


def _standardised(
    columns: FloatArray, fill: FloatArray, mean: FloatArray, sd: FloatArray
) -> FloatArray:
    filled = np.where(np.isnan(columns), fill[None, :], columns)
    return np.column_stack([np.ones(columns.shape[0]), (filled - mean) / sd])


def _logistic_scores(train: FloatArray, positive: BoolArray, test: FloatArray) -> FloatArray:
    """Log-odds of a fever for the ``test`` rows, from a ridge logistic fit on ``train``."""
    fill: FloatArray = np.nanmedian(train, axis=0)
    filled = np.where(np.isnan(train), fill[None, :], train)
    mean: FloatArray = filled.mean(axis=0)
    spread: FloatArray = filled.std(axis=0)
    sd: FloatArray = np.where(spread > 0, spread, 1.0)  # a constant column stays as it is
    x = _standardised(train, fill, mean, sd)
    y = positive.astype(np.float64)
    penalty = _RIDGE * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    beta = np.zeros(x.shape[1])
    for _ in range(_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (p - y) + penalty @ beta
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + penalty
        beta -= np.linalg.solve(hessian, gradient)
    scores: FloatArray = _standardised(test, fill, mean, sd) @ beta
    return scores


def best_sensitivity_at(
    score: FloatArray, positive: BoolArray, specificity_min: float
) -> tuple[float, float]:
    """(sensitivity, specificity) of the threshold on ``score`` with the highest sensitivity
    among those whose specificity is at least ``specificity_min``; (0, 1) if none is."""
    negatives = np.sort(score[~positive])
    # Flagging score > t keeps every negative at or below t: allow at most this many above.
    allowed_false = int(np.floor((1.0 - specificity_min) * negatives.size + 1e-9))
    threshold = (
        negatives[negatives.size - allowed_false - 1] if allowed_false < negatives.size else -np.inf
    )
    flagged = score > threshold
    sensitivity = float((flagged & positive).sum() / positive.sum())
    specificity = float((~flagged & ~positive).sum() / (~positive).sum())
    return sensitivity, specificity


def screening_ceiling(
    pairs: ReferencePairs,
    *,
    fever_ref_c: float = 37.5,
    specificity_min: float = 0.90,
    folds: int = 10,
    seed: int = 20240601,
    designs: tuple[tuple[str, ...], ...] = CANDIDATE_DESIGNS,
) -> tuple[Ceiling, ...]:
    """The ceiling of every usable feature set, in the order of ``designs``.

    Rows without a reference are left out. Raises ``ValueError`` for a specificity outside
    (0, 1), fewer than 2 folds, pairs with no fever or no afebrile row (nothing to separate),
    or too few rows for ``folds``; the message names the command-line option where there is one.
    """
    if not 0.0 < specificity_min < 1.0:
        raise ValueError(f"--specificity must lie between 0 and 1, got {specificity_min}")
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")
    has_reference = ~np.isnan(pairs.reference_c)
    features = pairs.features[has_reference]
    positive: BoolArray = pairs.reference_c[has_reference] >= fever_ref_c
    n_fever = int(positive.sum())
    if n_fever == 0 or n_fever == positive.size:
        raise ValueError(
            f"{pairs.source}: {n_fever} of {positive.size} rows have reference_c >= "
            f"{fever_ref_c} ℃; a ceiling needs both fevers and afebrile rows"
        )
    if positive.size < 2 * folds:
        raise ValueError(f"{pairs.source}: {positive.size} rows; {folds} folds need {2 * folds}")
    assignment = fold_assignment(int(positive.size), folds, seed)
    ceilings = []
    for names in designs:
        if not usable_design(features, names):
            continue
        columns = features[:, [FEATURE_COLUMNS.index(name) for name in names]]
        score = np.empty(positive.size)
        for fold in range(folds):
            held_out = assignment == fold
            score[held_out] = _logistic_scores(
                columns[~held_out], positive[~held_out], columns[held_out]
            )
        sensitivity, specificity = best_sensitivity_at(score, positive, specificity_min)
        ceilings.append(
            Ceiling(
                features=names,
                auc=roc_auc(score, positive),
                sensitivity=sensitivity,
                specificity=specificity,
            )
        )
    return tuple(ceilings)
