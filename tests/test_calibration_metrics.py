"""Agreement figures against their definitions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibration.metrics import agreement, roc_auc


@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=40).filter(
        lambda rows: 0 < sum(p for _, p in rows) < len(rows)
    )
)
def test_auc_is_the_share_of_fever_normal_pairs_ranked_right(rows: list[tuple[int, bool]]) -> None:
    score = np.array([s for s, _ in rows], dtype=np.float64)
    positive = np.array([p for _, p in rows])
    pos, neg = score[positive], score[~positive]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert roc_auc(score, positive) == pytest.approx(pairs / (pos.size * neg.size))


def test_agreement_on_a_constructed_case() -> None:
    reference = np.array([36.5, 36.8, 37.0, 37.6, 38.2])
    estimate = np.array([36.6, 36.7, 37.4, 37.2, 38.0])
    figures = agreement(estimate, reference, threshold_c=37.3, fever_ref_c=37.5)
    diff = estimate - reference
    assert figures.n == 5 and figures.n_fever == 2
    assert figures.mae_c == pytest.approx(np.abs(diff).mean())
    assert figures.bias_c == pytest.approx(diff.mean())
    assert figures.loa_c[1] - figures.loa_c[0] == pytest.approx(2 * 1.96 * diff.std(ddof=1))
    # Fevers 37.6 (read 37.2: missed) and 38.2 (read 38.0: caught); 37.0 read 37.4: false alarm.
    assert figures.sensitivity == pytest.approx(0.5)
    assert figures.specificity == pytest.approx(2 / 3)
    assert figures.fever_bias_c == pytest.approx(((37.2 - 37.6) + (38.0 - 38.2)) / 2)
