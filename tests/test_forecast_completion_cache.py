"""The completions a process has computed are reused for the same inputs, to the bit."""

from __future__ import annotations

import numpy as np
from obslaws_forecast import completion
from obslaws_forecast.completion import _hard_impute, forget_completions, hard_impute


def _residuals(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(40, 7)) + rng.normal(size=(40, 1)) * rng.normal(size=(1, 7))
    observed = rng.uniform(size=r.shape) > 0.3
    return np.where(observed, r, 0.0), observed


def test_a_repeated_completion_is_the_first_ones_and_its_arrays_are_the_callers_own():
    forget_completions()
    r, observed = _residuals(0)
    first = hard_impute(r, observed, 2, 30)
    assert len(completion._DONE) == 1
    again = hard_impute(r.copy(), observed.copy(), 2, 30)
    assert len(completion._DONE) == 1  # the same inputs: no second computation
    fresh = _hard_impute(r, observed, 2, 30)
    for a, b, c in zip(first, again, fresh, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    first[1][:] = 0.0  # a caller changing its arrays changes nothing stored
    assert np.array_equal(hard_impute(r, observed, 2, 30)[1], fresh[1])


def test_other_inputs_rank_or_iterations_are_computed_anew():
    forget_completions()
    r, observed = _residuals(1)
    hard_impute(r, observed, 2, 30)
    hard_impute(r, observed, 1, 30)
    hard_impute(r, observed, 2, 10)
    moved = r.copy()
    moved[0, 0] += 1e-12
    hard_impute(moved, observed, 2, 30)  # a last-bit change of one residual
    hidden = observed.copy()
    hidden[0, 0] = not hidden[0, 0]
    hard_impute(r, hidden, 2, 30)
    assert len(completion._DONE) == 5  # every call above but none repeated
    forget_completions()
    assert not completion._DONE
