"""The fitter contract, after scikit-learn's estimator conventions."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from obslaws.data import PREDICTION_COLUMNS, FitData, conform
from obslaws.errors import FitterError, NotFittedError
from obslaws.threads import apply_threads

NEEDS = frozenset({"params", "tokens", "flops", "family", "release_date", "scores", "losses"})


@dataclass(frozen=True)
class Requirements:
    """What a fitter needs from the shared table.

    Attributes
    ----------
    needs:
        Model covariates and data kinds, from ``params, tokens, flops, family, release_date,
        scores, losses``. The backtest harness drops models that lack a needed covariate, and
        ``check_fitter`` builds its test data from this.
    input_benchmarks:
        Benchmarks whose scores the fitter reads for the models it predicts (for example the
        capability benchmarks of ``lowrank``); empty when it predicts from covariates alone.
    loss_datasets:
        Loss data sets it reads (``losses``), empty for none.
    min_models:
        The fewest training models a fit can work with.
    default_benchmarks:
        What ``obslaws fit NAME`` fits when no benchmarks are named: a set name (``oll-v1``) or
        benchmarks.
    checkpoints:
        Whether that default fit reads training checkpoints too (as loss2loss reads a ladder's).
    """

    needs: frozenset[str] = frozenset({"flops"})
    input_benchmarks: tuple[str, ...] = ()
    loss_datasets: tuple[str, ...] = ()
    min_models: int = 3
    default_benchmarks: str | tuple[str, ...] = "oll-v1"
    checkpoints: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise FitterError(f"unknown requirement(s) {sorted(unknown)}; choose from {sorted(NEEDS)}")


class Fitter:
    """Base class of every fitter.

    Subclasses set ``name`` (unique across plugins), ``version``, ``requires``, take their
    hyperparameters as keyword-only constructor arguments stored verbatim under the same names
    (nothing else happens in ``__init__``), and implement :meth:`_fit` and :meth:`_predict`.
    Learned state goes in attributes whose names end in ``_``.

    Examples
    --------
    >>> class Mean(Fitter):
    ...     name = "mean"
    ...     def __init__(self, *, shrink=0.0):
    ...         self.shrink = shrink
    ...     def _fit(self, data):
    ...         self.means_ = dict(data.scores.group_by("benchmark").agg(pl.col("value").mean()).iter_rows())
    ...     def _predict(self, query):
    ...         return self.grid(query, lambda model, bench: self.means_[bench])
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    requires: ClassVar[Requirements] = Requirements()
    check_hyperparameters: ClassVar[dict[str, Any]] = {}
    """Hyperparameters for a quick run (fewer steps or restarts) that the conformance tests use
    on synthetic data (``check_fitter(cls(**cls.check_hyperparameters))``); empty: the defaults."""
    batch_invariant: ClassVar[bool] = False
    """Set by an override of :meth:`fit_many` that fits each fold to the same bits whatever other
    folds share the call. The backtest harness then fits a fold that several protocols share once
    and batches the folds of all of them into one call; otherwise each protocol keeps its own call
    (the default :meth:`fit_many`, fold by fold, is batch-invariant whatever this says)."""

    # -- hyperparameters (scikit-learn conventions) --------------------------------------------
    # Not scikit-learn's BaseEstimator: as a base class it would import scikit-learn (seconds on a
    # busy machine) wherever a plugin module defines a fitter, that is at every CLI start, and its
    # check_is_fitted needs BaseEstimator's tags; clone() uses sklearn.base.clone, imported when called.

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for param in signature.parameters.values():
            if param.name == "self":
                continue
            if param.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise FitterError(
                    f"{cls.__name__}: hyperparameter {param.name!r} must be keyword-only (def __init__(self, *, ...))"
                )
            names.append(param.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, as given to the constructor (``deep`` as in scikit-learn; no nesting)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Fitter:
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise FitterError(f"{self.name}: unknown hyperparameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def clone(self) -> Fitter:
        """An unfitted copy with the same hyperparameters (``sklearn.base.clone``: deep copies, and
        an error if ``__init__`` does not store them verbatim)."""
        from sklearn.base import clone

        return clone(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fit / predict -------------------------------------------------------------------------

    def fit(self, data: FitData) -> Fitter:
        """Learn from ``data`` (never modified) and return ``self``; forgets any earlier fit."""
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)
        self._take_targets(data)
        apply_threads()
        self._fit(data)
        return self

    def fit_many(self, datas: Sequence[FitData]) -> Iterable[Fitter]:
        """Fit one unfitted clone per data set (a backtest's folds); ``self`` stays as it is.

        Returns the fitted clones in the order of ``datas``, as any iterable. The default fits
        each clone when the caller reaches it, so a failure is raised at its fold. Override it
        to fit every fold in one batched program (Sloth does: all folds share each optimiser
        step); the result must equal ``[self.clone().fit(d) for d in datas]`` up to the fitter's
        own randomness.
        """
        return _fit_each(self, datas)

    def clones_for(self, datas: Sequence[FitData]) -> list[Fitter]:
        """One unfitted clone per data set, each holding its targets as :meth:`fit` sets them:
        where a batched :meth:`fit_many` override starts."""
        clones = [self.clone() for _ in datas]
        for clone, data in zip(clones, datas, strict=True):
            clone._take_targets(data)
        return clones

    def _take_targets(self, data: FitData) -> None:
        if not data.targets:
            raise FitterError(f"{self.name}: nothing to fit: the data names no target benchmarks")
        self.targets_ = tuple(data.targets)

    def predict(self, query: FitData) -> pl.DataFrame:
        """Predict every target benchmark for every model in ``query.models``.

        Returns a polars DataFrame with ``model_id, benchmark, prediction, lower, upper``;
        ``lower``/``upper`` bound the fitter's interval (null when it has none).
        """
        if not self.is_fitted():
            raise NotFittedError(f"{self.name}: call fit(data) before predict(query)")
        apply_threads()
        out = self._predict(query)
        missing = [c for c in PREDICTION_COLUMNS if c not in out.columns and c not in ("lower", "upper")]
        if missing:
            raise FitterError(f"{self.name}: predict() returned no column(s) {missing}")
        return require_finite(conform(out, PREDICTION_COLUMNS).select(list(PREDICTION_COLUMNS)), self.name)

    def is_fitted(self) -> bool:
        return hasattr(self, "targets_")

    def learned_parameters(self) -> dict[str, Any]:
        """JSON-serialisable learned parameters, stored in ``fits.learned``. Override to add more."""
        return {"targets": list(getattr(self, "targets_", ()))}

    def store_extras(self, conn: Any, fit_id: str) -> None:
        """Write fitter-specific tables for this fit (for example skills or densities).

        Called by :func:`obslaws.fitting.store.fit_and_store` after the ``fits`` row, inside the same
        transaction, with the fit's id; not called for the fold fits of a backtest. Create the
        tables in ``prepare_connection`` or a migration; write with ``obslaws.store.upsert`` so
        that refitting is idempotent. The default writes nothing.
        """

    def _fit(self, data: FitData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _fit(data)")

    def _predict(self, query: FitData) -> pl.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _predict(query)")

    # -- helpers for subclasses ------------------------------------------------------------------

    def grid(self, query: FitData, predict_one: Any) -> pl.DataFrame:
        """Predictions for every (query model, target) pair from ``predict_one(model_row, bench)``."""
        rows = []
        for model in query.models.iter_rows(named=True):
            for bench in self.targets_:
                rows.append(
                    {"model_id": model["model_id"], "benchmark": bench, "prediction": float(predict_one(model, bench))}
                )
        return pl.DataFrame(rows, schema={"model_id": pl.String, "benchmark": pl.String, "prediction": pl.Float64})


class NonFinitePredictionError(FitterError):
    """A fitter predicted NaN, an infinity or nothing for a cell (see :func:`require_finite`)."""


def require_finite(predicted: pl.DataFrame, who: str) -> pl.DataFrame:
    """``predicted`` if every prediction is a finite number and every interval bound finite or
    missing; else a FitterError naming ``who`` (the fitter, and where), before anything is written.

    :meth:`Fitter.predict` applies it to every fitter's predictions, so that no NaN reaches a
    backtest, a stacked forecaster or the database (a fitter cannot decline single cells: it
    declines a model by raising, or the harness leaves out models lacking ``requires.needs``)."""
    checks = [pl.col("prediction").is_null() | ~pl.col("prediction").is_finite()]
    checks += [pl.col(c).is_not_null() & ~pl.col(c).is_finite() for c in ("lower", "upper") if c in predicted.columns]
    bad = predicted.filter(pl.any_horizontal(checks))
    if bad.height:
        row = bad.row(0, named=True)
        raise NonFinitePredictionError(
            f"{who}: {bad.height} prediction(s) not finite (NaN, infinite or missing), e.g. model "
            f"{row.get('model_id')!r} on {row.get('benchmark')!r}: {row.get('prediction')}; nothing was written"
        )
    return predicted


def _fit_each(fitter: Fitter, datas: Sequence[FitData]) -> Iterator[Fitter]:
    for data in datas:
        yield fitter.clone().fit(data)
