"""Agreement and screening figures of an estimate against a reference, all in ℃.

These are the figures a screening device is judged by: mean absolute error, bias, Bland–Altman
95 % limits of agreement, ROC AUC, and the sensitivity/specificity of a fixed threshold.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Agreement:
    """How an estimate agrees with a reference (differences are estimate − reference).

    ``loa_c`` are the Bland–Altman 95 % limits of agreement, ``bias_c ± 1.96 × SD``.
    """

    n: int
    mae_c: float
    bias_c: float
    loa_c: tuple[float, float]
    auc: float
    sensitivity: float
    specificity: float
    threshold_c: float
    fever_ref_c: float
    n_fever: int
    fever_bias_c: float


def roc_auc(score: FloatArray, positive: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve (Mann–Whitney form, ties counted half). NaN if a class is empty."""
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Average ranks handle ties: sort, then give each run of equal scores its mean rank.
    order = np.argsort(score, kind="mergesort")
    sorted_score = score[order]
    _, first, counts = np.unique(sorted_score, return_index=True, return_counts=True)
    # 1-based rank of a run starting at ``first`` with ``counts`` members: first + (counts + 1) / 2
    mean_rank = first + (counts + 1) / 2.0
    ranks_sorted = np.repeat(mean_rank, counts)
    ranks = np.empty_like(ranks_sorted)
    ranks[order] = ranks_sorted
    rank_sum_pos = float(ranks[positive].sum())
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def agreement(
    estimate_c: FloatArray,
    reference_c: FloatArray,
    *,
    threshold_c: float,
    fever_ref_c: float,
) -> Agreement:
    """Compare estimates with references (same length, no NaN).

    A fever is ``reference_c >= fever_ref_c``; a screening alarm is ``estimate_c >= threshold_c``.
    Sensitivity is the share of fevers alarmed; specificity the share of non-fevers not alarmed.
    ``fever_bias_c`` is the mean difference over the fevers alone: a least-squares fit
    regresses toward the population mean, so it is negative (fevers read a little low).
    """
    if estimate_c.shape != reference_c.shape:
        raise ValueError(f"estimate has {estimate_c.size} values, reference {reference_c.size}")
    n = int(estimate_c.size)
    if n < 2:
        raise ValueError(f"need at least 2 pairs to compute agreement, got {n}")
    diff = estimate_c - reference_c
    bias_c = float(diff.mean())
    half_width_c = float(1.96 * diff.std(ddof=1))
    fever = reference_c >= fever_ref_c
    alarm = estimate_c >= threshold_c
    n_fever = int(fever.sum())
    n_normal = n - n_fever
    sensitivity = float((alarm & fever).sum() / n_fever) if n_fever else float("nan")
    specificity = float((~alarm & ~fever).sum() / n_normal) if n_normal else float("nan")
    return Agreement(
        n=n,
        mae_c=float(np.abs(diff).mean()),
        bias_c=bias_c,
        loa_c=(bias_c - half_width_c, bias_c + half_width_c),
        auc=roc_auc(estimate_c, fever),
        sensitivity=sensitivity,
        specificity=specificity,
        threshold_c=threshold_c,
        fever_ref_c=fever_ref_c,
        n_fever=n_fever,
        fever_bias_c=float(diff[fever].mean()) if n_fever else float("nan"),
    )
