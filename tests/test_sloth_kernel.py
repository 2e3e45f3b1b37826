"""sloth's compiled kernel: its gradient against autograd in float64, its optimiser against the
torch engine step for step, threads and other folds that do not change a result, and the torch
fallback."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from obslaws_sloth import SlothFitter, compiled, engine
from obslaws_sloth.design import build_design, pad_designs
from obslaws_sloth.gradient import huber_mae_grad
from obslaws_sloth.model import Layout, extend_to_full, huber_and_mae, init_basic
from obslaws_sloth.optimiser import Schedule
from test_sloth import sloth_law

from obslaws.fitting import kernels
from obslaws.threads import set_threads, task_threads

pytest.importorskip("numba")
torch.set_num_threads(1)


def _problems(dtype: torch.dtype, full: bool):
    """Two padded problems (8 and 24 models) at a random-ish start, one asymptote fixed at 0."""
    data = sloth_law(families=3)
    designs = [build_design(data.select_models(data.model_ids[:8]), data.targets), build_design(data, data.targets)]
    batch = pad_designs(designs, dtype)
    basic = Layout(batch.onehot.shape[2], 2, 3, False)
    flat = torch.stack([init_basic(basic, len(d.families), seed) for seed, d in enumerate(designs)]).to(dtype)
    if not full:
        return basic, flat, batch
    flat = torch.stack([extend_to_full(basic, row, batch.chance[k, :, 0], k) for k, row in enumerate(flat)])
    batch.chance[0, 1, 0] = 0.0
    return basic.with_link(), flat.to(dtype), batch


@pytest.mark.parametrize("full", [False, True])
def test_kernel_gradient_matches_autograd_in_float64(full):
    layout, flat, batch = _problems(torch.double, full)
    flat = flat + 0.05 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(1), dtype=torch.double)
    flat.requires_grad_(True)
    loss, mae = huber_and_mae(layout, flat, batch, 0.01)
    (want,) = torch.autograd.grad(loss.sum(), flat)
    got_loss, got_mae, got = compiled.loss_and_grad(layout, flat.detach(), batch, 0.01)
    torch.testing.assert_close(got_loss, loss.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got_mae, mae, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("full", [False, True])
def test_float32_kernel_is_within_float32_rounding_of_autograd(full):
    # float32 uses a rational tanh (a few ulp) so that its loops vectorise.
    layout, flat, batch = _problems(torch.float32, full)
    loss, mae = huber_and_mae(layout, flat, batch, 0.01)
    got_loss, got_mae, got = compiled.loss_and_grad(layout, flat, batch, 0.01)
    _, _, want = huber_mae_grad(layout, flat, batch, 0.01)
    torch.testing.assert_close(got_loss, loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got_mae, mae, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))


def _fits(gradient, dtype=torch.double, full=True, steps=300, lrs=(0.1, 0.01), cosine=False):
    data = sloth_law(families=4)
    designs = [build_design(data.select_models(data.model_ids[:12]), data.targets), build_design(data, data.targets)]
    # A short plateau patience and stop rule, so that both act within the steps.
    schedule = Schedule(max_steps=steps, lr_patience=3, stop_patience=40, cosine=cosine)
    options = {"full": full, "lrs": lrs, "schedule": schedule, "dtype": dtype, "gradient": gradient}
    return engine.fit_many(designs, [0, 1], [1, 2], **options)


def _assert_same_fits(got_fits, want_fits, rtol):
    for got_pair, want_pair in zip(got_fits, want_fits, strict=True):
        for got, want in zip(got_pair, want_pair, strict=True):
            if got is None:  # the basic model only
                assert want is None
                continue
            assert (got.steps, got.lr) == (want.steps, want.lr)
            assert got.train_mae == pytest.approx(want.train_mae, rel=rtol)
            np.testing.assert_allclose(got.params.numpy(), want.params.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("cosine", [False, True])
def test_compiled_optimiser_follows_the_torch_engine(cosine):
    # The basic model: the same steps, learning-rate cuts (or cosine) and early stops, equal to rounding.
    basic = _fits(None, full=False, cosine=cosine)
    _assert_same_fits(basic, _fits(huber_mae_grad, full=False, cosine=cosine), rtol=1e-9)
    assert all(fit.steps < 300 for fit, _ in basic)  # the stop rule acted
    # The full model: its path from a start amplifies rounding after a few dozen steps
    # (a difference of 1e-16 is 1e-10 after 50 steps at learning rate 0.1), so a short run.
    full = {"steps": 30, "cosine": cosine}
    _assert_same_fits(_fits(None, **full), _fits(huber_mae_grad, **full), rtol=1e-7)


def test_threads_do_not_change_a_fit():
    try:
        set_threads(1)
        one = _fits(None, torch.float32)
        set_threads(2)
        two = _fits(None, torch.float32)
    finally:
        set_threads(None)
    for a, b in zip(one, two, strict=True):
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x.params, y.params) and x.train_mae == y.train_mae


def test_a_fold_fits_to_the_same_bits_beside_other_folds():
    # What SlothFitter.batch_invariant claims (folds shared across a refresh's protocols rely on
    # it): the small fold has fewer models and families, and its inner CV picks d = 2 where the
    # whole set's picks d = 1, so the batch pads the big fold's models, families and skills.
    assert SlothFitter.batch_invariant
    data = sloth_law(families=6)
    small = data.select_models(data.model_ids[:8])
    fitter = SlothFitter(d=(1, 2), select_d="inner-cv", restarts=2, learning_rates=(0.1,), max_iter=120)
    alone = fitter.fit_many([data])[0]
    beside, big = fitter.fit_many([small, data])
    assert [m.d for m in beside.members_] == [2, 2] and [m.d for m in big.members_] == [1, 1]
    small_alone = fitter.fit_many([small])[0]  # padded in models beside the big fold
    for one, batched in ((alone, big), (small_alone, beside)):
        for a, b in zip(one.members_, batched.members_, strict=True):
            assert torch.equal(a.model.params, b.model.params) and torch.equal(a.basic.params, b.basic.params)
    assert alone.predict(data).equals(big.predict(data))


def test_without_the_kernel_sloth_is_not_batch_invariant(monkeypatch):
    # The torch fallback batches problems into tensor operations that round by batch.
    monkeypatch.setattr(kernels, "kernel_loads", lambda *args: False)
    assert not SlothFitter.batch_invariant


def test_task_threads_follow_the_choice_and_never_exceed_the_tasks(monkeypatch):
    monkeypatch.delenv("OBSLAWS_THREADS", raising=False)
    try:
        set_threads(None)
        assert task_threads(1000) == len(os.sched_getaffinity(0))
        assert task_threads(1) == 1
        set_threads(3)
        assert task_threads(1000) == 3
        assert task_threads(2) == 2
    finally:
        set_threads(None)
    monkeypatch.setenv("OBSLAWS_THREADS", "1")
    assert task_threads(1000) == 1


def test_batches_the_kernel_cannot_take_fall_back_to_torch():
    layout, flat, batch = _problems(torch.float32, False)
    assert compiled.supports(layout, batch)
    batch.onehot[0, 0] = 0.5  # a model mixing two families' intercepts
    assert not compiled.supports(layout, batch)
    args = (layout, flat, batch, torch.full((2,), 0.01), torch.ones(layout.size), torch.zeros(layout.size))
    got = engine._optimise(*args, Schedule(max_steps=5), None)
    want = engine._optimise(*args, Schedule(max_steps=5), huber_mae_grad)
    torch.testing.assert_close(got.params, want.params)


def test_a_link_of_another_hidden_size_falls_back_to_torch():
    layout, _, batch = _problems(torch.float32, True)
    assert compiled.supports(layout, batch)
    assert not compiled.supports(Layout(layout.n_families, layout.d, layout.n_bench, True, hidden=5), batch)


_FIT_AND_HASH = """
import hashlib, sys
import torch
sys.path.insert(0, sys.argv[1])
from test_sloth_kernel import _fits
from obslaws_sloth import kernel
fits = _fits(None, torch.float32, steps=200)
digest = hashlib.sha256(b"".join(f.params.numpy().tobytes() for pair in fits for f in pair if f is not None))
print(kernel.fit_problem.stats.cache_hits.total(), digest.hexdigest())
"""


def test_a_kernel_loaded_from_numba_cache_fits_as_the_freshly_compiled_one(tmp_path):
    # numba caches a function's object code; a callee it calls rather than inlines is rebuilt
    # from bitcode in the loading process, with other optimisation, so its sums rounded
    # differently (refresh rows moved by ~0.1 point with which worker compiled). The kernel's
    # helpers are inlined, so a cached fit must equal a compiled one bit for bit.
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "OBSLAWS_THREADS": "1"}
    tests = os.path.dirname(__file__)
    command = [sys.executable, "-c", _FIT_AND_HASH, tests]
    runs = [subprocess.run(command, env=env, capture_output=True, text=True, check=True) for _ in range(2)]
    (compiled_hits, compiled_hash), (cached_hits, cached_hash) = (run.stdout.split() for run in runs)
    assert (compiled_hits, cached_hits) == ("0", "1")  # the second run really loaded the cache
    assert cached_hash == compiled_hash


def test_a_float64_fit_keeps_its_members_in_float64():
    # the members are cut from the batch's rows (engine._unpad); they once came back float32
    for basic, full in _fits(None, steps=20):
        assert basic.params.dtype == full.params.dtype == torch.float64
