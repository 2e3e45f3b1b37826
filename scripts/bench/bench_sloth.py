"""Time Sloth backtests: the batched engine against an upstream-style loop, in one process.

1. ``v2``: the OLL v2, n = 1, d = 2 family-holdout backtest of full Sloth (one seed, the
   paper's 12 test groups), every fold x learning rate in one batched program; basic Sloth too.
2. The baseline: the upstream structure (one fold and one learning rate at a time, a Python
   list of ``nn.Module`` links, ``torch.optim.Adam`` + ``ReduceLROnPlateau``), timed per step
   on one fold in this process and multiplied by the steps the batched run took over all
   (fold, learning rate) runs: the time the upstream loop needs for the same work.
3. ``--grid``: the whole grid, three sets x n in {1, 2} x d in {1..4}, one seed, the paper's
   configuration; ``--workers 2`` runs the 24 backtests on two processes (one per core).
4. ``--default``: the default configuration's (``SlothFitter()``) v2, n = 1 backtest.
5. ``--steps-ab N``: what moved the engine (docs/speed.md), on the default's work (the v2 folds x
   3 seeds x d = 1..4, full model) at a fixed N steps per stage, CPU and wall seconds in this
   process: one program per d with the autograd gradient (the first engine), one program for
   every d with the autograd gradient, with the hand-written gradient on cache-sized chunks of
   problems, and the compiled kernel on one thread (the engine's default now).
6. ``--layout-ab``: the default's v2, n = 1 backtest (every fold x seed x d x learning rate in one
   batch) with each problem fitted in the batch's padded layout (before 2026-11-29) and in its
   own families and skills (now), in this process: CPU and wall seconds, MAE, whether every
   member's parameters are equal, and the ratio.
7. ``--ab``: the default's v2 backtest and the paper configuration's v2 d = 2 backtest, each on
   the torch engine with the chunked hand-written gradient (before), the compiled kernel on one
   thread, and the compiled kernel on the threads in force (one per core unless ``--threads``),
   in this process: wall and CPU seconds, MAE, and the ratios.

    .venv/bin/python scripts/bench/bench_sloth.py [--grid [--workers 2]] [--default] [--ab] [--layout-ab] [--threads 1]
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from unittest import mock

import torch
from obslaws_sloth import engine
from obslaws_sloth import fitter as fitter_module
from obslaws_sloth.batch import family_holdout
from obslaws_sloth.fitter import SlothFitter
from obslaws_sloth.model import logit

from obslaws.backtest.paper import sloth_fit_data
from obslaws.threads import chosen_threads, set_threads, task_threads


class _IncreasingNN(torch.nn.Module):
    """The upstream link module, for the baseline loop."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(1, 10), torch.nn.Linear(10, 10), torch.nn.Linear(10, 1)
        for fc in (self.fc1, self.fc2, self.fc3):
            fc.weight.data = fc.weight.data.abs()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(x)
        x = torch.tanh(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return torch.sigmoid(self.fc3(x))


def upstream_ms_per_step(design, d: int, steps: int = 300) -> float:
    """Milliseconds per full-model step of the upstream loop structure on one fold."""
    torch.manual_seed(0)
    x = torch.tensor(design.x, dtype=torch.float32)
    onehot = torch.eye(len(design.families))[torch.as_tensor(design.fam)]
    y = torch.tensor(design.y, dtype=torch.float32)
    j = y.shape[1]
    w_x = torch.nn.Parameter(torch.randn(3, d).abs())
    w_d = torch.nn.Parameter(torch.randn(len(design.families), d))
    w2 = torch.nn.Parameter(torch.randn(d, j).abs())
    b2 = torch.nn.Parameter(torch.randn(1, j))
    logit_c = torch.nn.Parameter(logit(torch.tensor(design.chance, dtype=torch.float32)).reshape(1, j))
    links = [_IncreasingNN() for _ in range(j)]
    params = [w_x, w_d, w2, b2, logit_c] + [p for link in links for p in link.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.95, patience=20)
    loss_fn = torch.nn.SmoothL1Loss(beta=0.01)
    tic = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        z2 = (x @ w_x + onehot @ w_d) @ w2 + b2
        z3 = torch.hstack([link(z2[:, k].reshape(-1, 1)) for k, link in enumerate(links)])
        c = torch.sigmoid(logit_c)
        yhat = c + (1 - c) * z3
        loss = loss_fn(yhat, y)
        _ = (yhat - y).abs().mean().item()
        loss.backward()
        opt.step()
        sched.step(loss.item())
        for link in links:
            for fc in (link.fc1, link.fc2, link.fc3):
                fc.weight.data.clamp_(0)
    return (time.perf_counter() - tic) / steps * 1000


def count_steps(fn):
    """Run ``fn`` while recording the steps of every (problem) the optimiser ran."""
    seen = []
    original = engine._optimise

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(int(result.steps.sum()))
        return result

    engine._optimise = recording
    try:
        out = fn()
    finally:
        engine._optimise = original
    return out, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads (default: $OBSLAWS_THREADS, else 1)")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--default", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="processes for --grid (one per core)")
    parser.add_argument("--skip-v2", action="store_true", help="skip the v2 d = 2 timings")
    parser.add_argument("--steps-ab", type=int, default=0, help="the engine A/B at this many steps per stage")
    parser.add_argument("--ab", action="store_true", help="backtests with the gradient before and now")
    parser.add_argument("--layout-ab", action="store_true", help="problems in the padded layout and in their own")
    args = parser.parse_args()
    args.threads = set_threads(args.threads)
    data = sloth_fit_data()
    print(
        f"torch threads = {args.threads}, Sloth's compiled problems on up to {task_threads(10**6)} threads; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if args.steps_ab:
        engine_ab(data, args.steps_ab)
    if args.ab:
        backtest_ab(data)
    if args.layout_ab:
        layout_ab(data)

    for link in () if args.skip_v2 else ("basic", "full"):
        fitter = SlothFitter.upstream(2, link=link, random_state=0)
        tic = time.perf_counter()
        run, steps = count_steps(
            lambda f=fitter: family_holdout(f, data, benchmarks="oll-v2", n_train=1, groups="sloth-paper")
        )
        wall = time.perf_counter() - tic
        mae = run.summary()["average"]["mae_pt"]
        print(f"v2 n=1 d=2 {link:5s}: {wall:6.1f} s batched, MAE {mae:.2f}, optimiser steps per stage {steps}")
        if link == "full":
            design = run.fitted[0].design_
            ms = upstream_ms_per_step(design, 2)
            basic_steps, full_steps = steps
            # The basic stage has no link network: charge it at the full per-step cost / 3 (conservative).
            upstream = (full_steps + basic_steps / 3) * ms / 1000
            print(
                f"  upstream-style loop: {ms:.2f} ms/step on one fold -> about {upstream:.0f} s for the same "
                f"{basic_steps + full_steps} steps; speed-up {upstream / wall:.1f}x (paper's code: 7.3 min = 438 s)"
            )

    if args.default:
        fitter = SlothFitter()
        tic = time.perf_counter()
        run = family_holdout(fitter, data, benchmarks="oll-v2", n_train=1, groups="sloth-paper")
        mae = run.summary()["average"]["mae_pt"]
        print(f"default {fitter!r}: v2 n=1 {time.perf_counter() - tic:.1f} s, MAE {mae:.2f}")

    if args.grid:
        # Largest backtests first, so that two workers finish together.
        cells = [(s, n, d) for s in ("oll-v1", "oll-all", "oll-v2") for n in (1, 2) for d in (4, 3, 2, 1)]
        tic = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context, initializer=_grid_worker_init) as pool:
            results = list(pool.map(_grid_cell, cells))
        wall = time.perf_counter() - tic
        for (bench_set, n, d), (mae, seconds) in sorted(zip(cells, results, strict=True)):
            print(f"  {bench_set} n={n} d={d}: MAE {mae:.2f} in {seconds:.0f} s")
        busy = sum(seconds for _, seconds in results)
        print(f"grid: {wall:.0f} s wall on {args.workers} worker(s) ({busy:.0f} s of backtests)")


def engine_gradient(gradient) -> AbstractContextManager:
    """Fits made by the Sloth fitters in this block use ``gradient`` (the before/after switch)."""
    return mock.patch.object(fitter_module, "fit_many", functools.partial(fitter_module.fit_many, gradient=gradient))


@contextmanager
def threads_for(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` threads chosen (``None``: leave the count in force)."""
    before = chosen_threads()
    if count is not None:
        set_threads(count)
    try:
        yield
    finally:
        set_threads(before)


def backtest_ab(data) -> None:
    """The default's and the paper configuration's v2 backtests: the torch engine (before) and
    the compiled kernel (now) on one thread, then on one thread per core, in this process."""
    from obslaws_sloth.gradient import fast_huber_mae_grad

    runs = [
        ("before: torch, chunked", fast_huber_mae_grad, 1),
        ("now: compiled, 1 thread", None, 1),
        (f"now: compiled, {task_threads(10**6)} threads", None, None),
    ]
    configs = [("default (SlothFitter())", SlothFitter()), ("paper configuration, d = 2", SlothFitter.upstream(2))]
    for label, fitter in configs:
        base = None
        for name, gradient, threads in runs:
            cpu, tic = time.process_time(), time.perf_counter()
            with engine_gradient(gradient), threads_for(threads):
                run = family_holdout(fitter, data, benchmarks="oll-v2", n_train=1, groups="sloth-paper")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - tic
            mae = run.summary()["average"]["mae_pt"]
            base = base or (cpu, wall)
            print(
                f"  {label:<28} {name:<26} wall {wall:6.1f} s  CPU {cpu:6.1f} s  MAE {mae:.3f}  "
                f"(load {os.getloadavg()[0]:.1f})  {base[0] / cpu:4.2f}x less CPU, {base[1] / wall:4.2f}x less wall",
                flush=True,
            )


def layout_ab(data) -> None:
    """The default's v2 backtest with its problems fitted in the batch's padded layout (before) and
    each in its own (now), twice in turn, in this process."""
    original = engine._optimise

    def padded(*args, **kwargs):  # the rows as the batch lays them out: no ``own`` layouts
        return original(*args[:8], **{k: v for k, v in kwargs.items() if k != "own"})

    fitted = {}
    for name in ("before: padded", "now: own layouts") * 2:
        cpu, tic = time.process_time(), time.perf_counter()
        with mock.patch.object(engine, "_optimise", padded if name.startswith("before") else original):
            run = family_holdout(SlothFitter(), data, benchmarks="oll-v2", n_train=1, groups="sloth-paper")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - tic
        fitted.setdefault(name, (run, []))[1].append(cpu)
        mae = run.summary()["average"]["mae_pt"]
        print(f"  {name:<18} wall {wall:6.1f} s  CPU {cpu:6.1f} s  MAE {mae:.4f}  (load {os.getloadavg()[0]:.1f})")
    (before, cpu_before), (now, cpu_now) = fitted.values()
    same = all(
        torch.equal(a.model.params, b.model.params) and torch.equal(a.basic.params, b.basic.params)
        for f, g in zip(before.fitted, now.fitted, strict=True)
        for a, b in zip(f.members_, g.members_, strict=True)
    )
    ratio = min(cpu_before) / min(cpu_now)
    print(f"  every member's parameters equal: {same}; CPU before / now (fastest of two each): {ratio:.3f}x")


def engine_ab(data, steps: int) -> None:
    """The engine before and after, on the default's problems at ``steps`` steps per stage."""
    from obslaws_sloth.design import build_design
    from obslaws_sloth.gradient import autograd_huber_mae_grad, fast_huber_mae_grad
    from obslaws_sloth.optimiser import Schedule

    from obslaws.backtest.harness import make_protocol
    from obslaws.benchmark_sets import resolve_benchmarks

    targets = resolve_benchmarks("oll-v2")
    proto = make_protocol("family-holdout", n_train=1, groups="sloth-paper")
    eligible = proto.eligible(data.with_targets(targets), targets, sorted(SlothFitter.requires.needs))
    designs = [build_design(eligible.select_models(s.train), targets) for s in proto.splits(eligible, targets)]
    problems = [(design, seed) for design in designs for seed in (0, 1, 2)]
    schedule = Schedule(max_steps=steps, stop_patience=steps + 1)
    opts = {"lrs": (0.01,), "schedule": schedule}

    def per_d(gradient) -> None:
        for d in (1, 2, 3, 4):
            engine.fit_many([p for p, _ in problems], [s for _, s in problems], d, gradient=gradient, **opts)

    def one_program(gradient) -> None:
        every = [(p, s, d) for p, s in problems for d in (1, 2, 3, 4)]
        engine.fit_many(
            [p for p, _, _ in every], [s for _, s, _ in every], [d for *_, d in every], gradient=gradient, **opts
        )

    def compiled_one_thread() -> None:
        with threads_for(1):
            one_program(None)

    runs = [
        ("one program per d, autograd (first)", lambda: per_d(autograd_huber_mae_grad)),
        ("one program for every d, autograd", lambda: one_program(autograd_huber_mae_grad)),
        ("one program, chunked hand-written", lambda: one_program(fast_huber_mae_grad)),
        ("compiled kernel, 1 thread (now)", compiled_one_thread),
    ]
    base = None
    for label, run in runs:
        cpu, tic = time.process_time(), time.perf_counter()
        run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - tic
        base = base or cpu
        print(f"  {label:<44} CPU {cpu:6.1f} s  wall {wall:6.1f} s  {base / cpu:4.2f}x (CPU)", flush=True)


_GRID_DATA = None


def _grid_worker_init() -> None:
    global _GRID_DATA
    set_threads(None)
    _GRID_DATA = sloth_fit_data()


def _grid_cell(cell: tuple[str, int, int]) -> tuple[float, float]:
    """One backtest of the grid (the paper's configuration, one seed): its MAE and seconds."""
    bench_set, n, d = cell
    tic = time.perf_counter()
    fitter = SlothFitter.upstream(d, random_state=0)
    run = family_holdout(fitter, _GRID_DATA, benchmarks=bench_set, n_train=n, groups="sloth-paper")
    return run.summary()["average"]["mae_pt"], time.perf_counter() - tic


if __name__ == "__main__":
    main()
