"""What a fitted forecaster learned, as ``learned_parameters`` reports it: every choice the inner
folds made, the folds themselves and what they compared, for the database's ``fits`` table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .inner import question_horizon


def learned_record(fitted: Any) -> dict[str, Any]:
    """``fitted``'s (a fitted ``ForecastFitter``) choices and their records."""
    return {
        "targets": list(fitted.targets_),
        "inputs": list(fitted.benchmarks_[len(fitted.targets_) :]),
        # the input benchmarks each rule reads (stage 2 chooses the rule per kind: Config.inputs)
        "input_rules": fitted.input_rules_,
        # per kind of query model (cells / later / larger / inside; all: every fold, the fall-back)
        "chosen": {kind: asdict(config) for kind, config in fitted.selection_.configs.items()},
        # per kind, where leaving each of its folds out preferred it: each target's own configuration
        "chosen_per_benchmark": {
            kind: {t: c.label() for t, c in zip(fitted.targets_, cs, strict=True)}
            for kind, cs in fitted.selection_.columns.items()
        },
        "inner_folds": fitted.folds_,
        # later / larger from here, and the size below which a query is smaller than any target model
        "question_horizon": question_horizon(fitted.latest_day_, fitted.largest_flops_, fitted.smallest_params_),
        # whether a query's tokens count only up to the training ratio, and what the ratio fold said
        "token_cap": fitted.token_cap_,
        "compared": fitted.selection_.table,
        "chosen_by": fitted.selection_.rules,
        # per kind, where leaving each of its fold groups out preferred it: the configurations averaged
        "averaged": {kind: [c.label() for c in cs] for kind, cs in fitted.selection_.averages.items()},
        "spread_power": fitted.selection_.powers,
        # per kind: its widths from its own folds, or the wider of those and every fold's (calibration.py)
        "interval_widths_from": fitted.selection_.widths_from,
        # per kind, where not the nominal: the level of its own widths' quantile (calibration.transferred_level)
        "interval_level": fitted.selection_.levels,
        # per kind: intervals near a bound on the logit or the score scale (bounds.py)
        "interval_mapping": fitted.selection_.mappings,
        # other registered fitters stacked (``stack``): weights per kind and target, chosen on the inner folds
        "stacked": fitted.stacker_.learned(fitted.targets_, fitted.unstacked_),
        # conformal quantiles of |logit residual| x spread (about points / (1 - chance) / 100)
        "interval_half_widths_scaled": {
            f"{kind} | {cat} | {j}": w for (kind, cat, j), w in fitted.selection_.widths.items()
        },
    }
