"""The sigmoid engine's compiled step gives the numpy step's results to the bit.

Both orders of summation are exercised: model after model (the batch as it starts, C-ordered)
and pairwise per problem (after finished problems are dropped, or for a single problem).
"""

from __future__ import annotations

import numpy as np
import pytest
from obslaws_baselines import FlopsSigmoidFamilyFitter, FlopsSigmoidFitter
from obslaws_baselines.compiled import kernel_available
from obslaws_baselines.engine import fit_sigmoid_sets

from obslaws.testing import synthetic_data

FIELDS = ("slope", "offsets", "floor", "lr", "train_mae", "steps")


def _problems(fitter, n_folds: int = 3) -> list:
    """The engine's data sets of unequal folds (fold k leaves out the first k + 1 families)."""
    data = synthetic_data()
    families = sorted(data.models["family"].unique().to_list())
    trains = []
    for k in range(n_folds):
        keep = ~data.models["family"].is_in(families[: 2 * k + 1])
        trains.append(data.select_models(data.models.filter(keep)["model_id"]))
    return [clone._problem(train) for clone, train in zip(fitter.clones_for(trains), trains, strict=True)]


@pytest.mark.parametrize(
    ("fitter", "n_folds"),
    [
        (FlopsSigmoidFitter(n_iter_no_change=100), 3),
        (FlopsSigmoidFamilyFitter(n_iter_no_change=100), 3),
        (FlopsSigmoidFamilyFitter(n_iter_no_change=100, learn_floor=False, learning_rates=(0.1, 0.01)), 3),
        (FlopsSigmoidFamilyFitter(n_iter_no_change=60, learning_rates=(0.01,)), 1),
    ],
    ids=["shared", "family", "family-fixed-floor", "one-learning-rate"],
)
def test_compiled_step_equals_numpy_step_to_the_bit(fitter, n_folds):
    assert kernel_available()
    problems = _problems(fitter, n_folds)
    options = fitter._options()
    by_numpy = fit_sigmoid_sets(problems, **options, compiled=False)
    compiled = fit_sigmoid_sets(problems, **options, compiled=True)
    assert len({int(s) for fit in by_numpy for s in fit.steps}) > 1  # problems stop at different steps
    for expected, got in zip(by_numpy, compiled, strict=True):
        for field in FIELDS:
            assert np.array_equal(getattr(expected, field), getattr(got, field)), field


def test_a_single_problem_sums_pairwise_as_numpy_does():
    """One benchmark at one learning rate: a (models, 1) batch, which numpy sums pairwise."""
    fitter = FlopsSigmoidFitter(n_iter_no_change=80, learning_rates=(0.1,))
    problem = _problems(fitter, 1)[0]
    problem.y, problem.observed, problem.chance = problem.y[:, :1], problem.observed[:, :1], problem.chance[:1]
    options = fitter._options()
    by_numpy = fit_sigmoid_sets([problem], **options, compiled=False)[0]
    compiled = fit_sigmoid_sets([problem], **options, compiled=True)[0]
    for field in FIELDS:
        assert np.array_equal(getattr(by_numpy, field), getattr(compiled, field)), field


def test_more_than_128_models_sum_in_numpys_halves():
    """numpy splits a pairwise sum of more than 128 values in halves: 300 models split twice (one
    problem, so the batch is summed pairwise from the first step)."""
    from obslaws_baselines.engine import SigmoidSet

    rng = np.random.default_rng(7)
    n, n_families = 300, 5
    x = rng.normal(0.0, 2.0, n)
    family = rng.integers(0, n_families, n)
    y = 0.25 + 0.7 / (1 + np.exp(-(0.8 * x[:, None] + rng.normal(0, 0.3, (n, 1)))))
    init = {"w": 0.5, "a": rng.normal(size=n_families), "b": 0.1}
    problem = SigmoidSet(x, family, n_families, y, rng.random((n, 1)) > 0.1, np.array([0.25]), init)
    options = {"lrs": (0.01,), "patience": 100, "max_steps": 2000}
    by_numpy = fit_sigmoid_sets([problem], **options, compiled=False)[0]
    compiled = fit_sigmoid_sets([problem], **options, compiled=True)[0]
    assert by_numpy.steps[0] > 200
    for field in FIELDS:
        assert np.array_equal(getattr(by_numpy, field), getattr(compiled, field)), field


def test_the_kernels_arguments_are_built_once_per_set_of_running_problems():
    """The compiled step reuses its views and scratch buffers from step to step, and builds them
    anew once finished problems are dropped (``keep`` replaces every array of the batch)."""
    from obslaws_baselines.compiled import compiled_step
    from obslaws_baselines.engine import _Batch, _Law

    problems = _problems(FlopsSigmoidFamilyFitter(n_iter_no_change=100), 2)
    batch, law, schedule = _Batch.start(problems, np.array([0.1, 0.01])), _Law(0.01, True), (20, 0.95, 1e-5)
    compiled_step(batch, law, 1, schedule)
    first = batch._kernel_args
    compiled_step(batch, law, 2, schedule)
    assert batch._kernel_args is first and not first.by_problem
    batch.keep(np.arange(batch.lr.size) % 2 == 0)
    compiled_step(batch, law, 3, schedule)
    assert batch._kernel_args is not first and batch._kernel_args.by_problem
    assert batch._kernel_args.loss.shape == batch.lr.shape
