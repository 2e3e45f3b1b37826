"""A backtest's folds, fitted once each: folds that see the same data share one fit.

Protocols often cut the same training set: the rolling forecast's cut on a time split's date,
the compute sweep's budget that is also the compute cut-off. :func:`fold_key` names everything a
fold's fit sees (the fitter's name, version and hyperparameters, and the training data to the
byte, row order and types included); :func:`fit_folds` fits the folds a batch at a time, one
``fit_many`` call each. Where the fitter fits each fold to the same bits whatever folds share the
call (:func:`batch_invariant`), each distinct key is fitted once and the folds of every protocol
share one call per target set; otherwise each protocol keeps its own call, as when run alone.
Each split then predicts its own query from its fold's fit (:func:`score_split`), so its rows are
those it had fitted alone.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from obslaws.backtest.base import Split
from obslaws.data import FitData
from obslaws.errors import FitterError, ObslawsError
from obslaws.fitting.contract import Fitter
from obslaws.fitting.store import canonical_json, fit_id_for, fit_row
from obslaws.threads import apply_threads


@contextmanager
def naming_failures(fitter: str, where: str) -> Iterator[None]:
    """Re-raise a fitter's failure with the fitter and the split it failed on in the message."""
    try:
        yield
    except ObslawsError as exc:
        raise type(exc)(f"{fitter} on {where}: {exc}") from exc
    except Exception as exc:
        raise FitterError(f"{fitter} failed on {where}: {type(exc).__name__}: {exc}") from exc


def fold_key(fitter: Fitter, train: FitData) -> str:
    """A hash of everything a fit of ``fitter`` on ``train`` sees: equal keys, equal fits.

    Unlike :meth:`FitData.content_hash` (which sorts, to name the data), it keeps the rows' order
    and the columns' types: a fitter may depend on either, and a shared fold must fit to the bit.
    """
    digest = hashlib.sha256(canonical_json([fitter.name, str(fitter.version), fitter.get_params()]).encode())
    for frame in (train.models, train.scores, train.losses, train.benchmarks):
        buffer = io.BytesIO()
        frame.rechunk().write_ipc(buffer)  # Arrow IPC: the schema and every value, exactly
        digest.update(buffer.getvalue())
    digest.update(canonical_json(list(train.targets)).encode())
    return digest.hexdigest()


@dataclass
class Fold:
    """One distinct training set of a batch: its data, where a failure is reported, its fit."""

    train: FitData
    where: str
    model: Fitter | None = None
    seconds: float = 0.0  # its fit's share of the fit_many time
    users: int = 0  # how many splits use it (they share its seconds)
    data_hash: str = ""


def batch_invariant(cls: type[Fitter], *, check: bool = True) -> bool:
    """Whether fitter class ``cls`` fits a fold to the same bits whatever other folds its
    ``fit_many`` call holds: the default ``fit_many`` (one fold at a time) does, an override says
    so (``Fitter.batch_invariant``). Only then may folds be shared and batched across protocols.

    ``check=False``: the class's claim, without a check it makes when read (Sloth's imports its
    compiled kernel, 0.4 s): enough to group jobs, since the process that fits them asks again."""
    if cls.fit_many is Fitter.fit_many:
        return True
    return bool(cls.batch_invariant if check else inspect.getattr_static(cls, "batch_invariant"))


def fit_folds(fitter: Fitter, batches: Sequence[Sequence[Fold]], whole: str) -> None:
    """Fit every fold (filling ``model`` and ``seconds``), one ``fit_many`` call per batch, the folds
    in the order given. ``whole`` names the call in a failure of ``fit_many`` itself."""
    apply_threads()
    for batch in batches:
        # fit_many fits lazily, one fold at a time, unless the fitter batches every fold into one
        # program; the time of the call itself is that program's, shared among the folds.
        tic = time.perf_counter()
        with naming_failures(fitter.name, whole):
            fitted = iter(fitter.fit_many([fold.train for fold in batch]))
        share = (time.perf_counter() - tic) / len(batch)
        for index, fold in enumerate(batch):
            tic = time.perf_counter()
            with naming_failures(fitter.name, fold.where):
                fold.model = next(fitted, None)
                if fold.model is None:
                    raise FitterError(f"fit_many returned {index} fits for {len(batch)} splits")
            fold.seconds = share + time.perf_counter() - tic
        if next(fitted, None) is not None:
            raise FitterError(f"{fitter.name}.fit_many returned more fits than the {len(batch)} splits")


def score_split(
    fitter: Fitter,
    fold: Fold,
    split: Split,
    query: FitData,
    truth_all: pl.DataFrame,
    where: str,
    plugin: str | None,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """The split's test cells predicted by its fold's fit (with ``split`` and ``fit_id``), and the
    fold's ``fits`` row (its seconds: the fold's share of the fit and this prediction)."""
    tic = time.perf_counter()
    with naming_failures(fitter.name, where):
        predicted = fold.model.predict(query)  # finite, or a FitterError naming the model and benchmark
    if not fold.data_hash:
        fold.data_hash = fold.train.content_hash()
    fit_id = fit_id_for(fold.model, fold.data_hash)
    seconds = time.perf_counter() - tic + fold.seconds / max(fold.users, 1)
    row = fit_row(fold.model, fold.train, fit_id=fit_id, data_hash=fold.data_hash, duration_s=seconds, plugin=plugin)
    cells = split_cells(truth_all, split, predicted, f"{fitter.name} on {where}")
    return cells.with_columns(pl.lit(split.name).alias("split"), pl.lit(fit_id).alias("fit_id")), row


def split_cells(truth_all: pl.DataFrame, split: Split, predicted: pl.DataFrame, where: str) -> pl.DataFrame:
    """The split's test cells (truth joined with the prediction); every cell must have one."""
    truth = truth_all.filter(pl.col("model_id").is_in(list(split.test)))
    if split.hidden:
        truth = truth.join(split.hidden_frame(), on=["model_id", "benchmark"], how="semi")
    cells = truth.join(predicted, on=["model_id", "benchmark"], how="left")
    lacking = cells.filter(pl.col("prediction").is_null())
    if lacking.height:
        row = lacking.row(0, named=True)
        raise FitterError(
            f"{where}: no prediction for {lacking.height} test cell(s), "
            f"e.g. model {row['model_id']!r} on {row['benchmark']!r}"
        )
    return cells
