"""How many threads obslaws' numerical work uses, chosen in one place.

The fits are tiny (a few hundred parameters, about a hundred models), so their cost is Python
and kernel-launch overhead: extra intra-op threads buy nothing on a quiet machine and, on a busy
one, spin against whatever else runs (a default ``size-tokens`` fit took 11x longer with torch's
default thread count than with one thread while other jobs shared two cores; docs/speed.md).
So obslaws runs torch, and the BLAS/OpenMP pools under numpy and scipy, on **one thread** unless
told otherwise:

- ``OBSLAWS_THREADS=N`` in the environment, or ``obslaws --threads N ...`` on the command line;
- :func:`set_threads` from Python.

The count is applied by the command line, by every :meth:`Fitter.fit <obslaws.fitting.contract.Fitter.fit>`
and backtest, by the refresh's worker processes and by the scripts in ``scripts/bench/``.
``obslaws eval`` (running a language model) keeps torch's own default unless a count is given.

Independent coarse-grained tasks that release the GIL (Sloth's compiled problems, each a whole
optimisation) are another matter: their threads never wait for each other, so they use
:func:`task_threads`, one per usable core unless a count was chosen (the refresh's workers
choose the parent's count, one by default, so two workers never run four such threads).
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "OBSLAWS_THREADS"
DEFAULT_THREADS = 1
# Read by OpenMP, MKL and OpenBLAS when they load; set (if the user has not) so that a library
# imported after the choice starts with the chosen pool size.
_POOL_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_chosen: int | None = None  # set_threads() from Python, or the CLI option
_applied: tuple[int, bool] | None = None  # (count, torch loaded) last applied
_env_owned: set[str] = set()  # pool variables this module set (the user's own are left alone)


def configured_threads() -> int:
    """The thread count in force: :func:`set_threads`, else ``$OBSLAWS_THREADS``, else 1."""
    if _chosen is not None:
        return _chosen
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_VAR}={raw!r}: expected a positive integer") from None
    if value < 1:
        raise ValueError(f"{ENV_VAR}={raw!r}: expected a positive integer")
    return value


def chosen_threads() -> int | None:
    """The count chosen by :func:`set_threads` or ``$OBSLAWS_THREADS``; ``None`` when neither was."""
    if _chosen is None and not os.environ.get(ENV_VAR, "").strip():
        return None
    return configured_threads()


def task_threads(tasks: int) -> int:
    """Threads for ``tasks`` independent, coarse-grained tasks that release the GIL.

    Such threads never wait for each other within a task (unlike a parallel loop's pool, which
    spins at every barrier), so a busy machine costs them only their share of the cores: the
    chosen count when one was chosen (the refresh's workers choose one each), else one per
    usable core, never more than the tasks.
    """
    chosen = chosen_threads()
    count = chosen if chosen is not None else usable_cores()
    return max(1, min(count, tasks))


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(count: int | None) -> int:
    """Choose the thread count for this process (``None``: back to the environment/default)
    and apply it now; returns the count in force."""
    global _chosen, _applied
    if count is not None and int(count) < 1:
        raise ValueError(f"threads must be >= 1, not {count}")
    _chosen = None if count is None else int(count)
    _applied = None
    return apply_threads()


def apply_threads() -> int:
    """Apply the configured count to torch (if loaded) and the loaded BLAS/OpenMP pools.

    Cheap when nothing changed since the last call, so fits call it every time.
    """
    global _applied
    count = configured_threads()
    torch_loaded = "torch" in sys.modules
    if _applied == (count, torch_loaded):
        return count
    for name in _POOL_ENV_VARS:
        if name not in os.environ or name in _env_owned:
            os.environ[name] = str(count)
            _env_owned.add(name)
    if torch_loaded:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it only torch is limited
        pass
    else:
        threadpool_limits(limits=count)
    _applied = (count, torch_loaded)
    return count
