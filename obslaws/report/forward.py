"""Report lines for the forward protocols: each cut of a rolling forecast or compute sweep, and
the matrix-completion figures of a cell hold-out."""

from __future__ import annotations

from typing import Any

from obslaws.backtest.base import UNTRAINED


def detail_lines(protocol: str, rows: list[tuple[str, dict[str, Any] | None]]) -> list[str]:
    """Markdown lines under a backtest's table; ``rows`` are (fitter, summary or None)."""
    done = [(fitter, s) for fitter, s in rows if s]
    if not done:
        return []
    if protocol in ("rolling-forecast", "compute-sweep"):
        lines = ["MAE (points) per cut, then averaged across cuts as in the table:", ""]
        for fitter, summary in done:
            cuts = ", ".join(
                f"{name}: {v['mae_pt']:.2f} ({v['n_models']} models)" for name, v in summary["splits"].items()
            )
            lines.append(f"- {fitter}: {cuts}")
        untrained = {split: ", ".join(t) for _, s in done for split, t in s.get(UNTRAINED, {}).items()}
        if untrained:  # the same for every fitter: no training model before the cut was scored on them
            lines += [
                "",
                "Not scored (no training model has a score): " + "; ".join(f"{k}: {v}" for k, v in untrained.items()),
            ]
        return lines + [""]
    if protocol == "cell-holdout":
        lines = [
            "Over all hidden cells: median absolute error (points), median absolute percentage error, "
            "share within 3 and 5 points:",
            "",
        ]
        for fitter, summary in done:
            p = summary["pooled"]
            lines.append(
                f"- {fitter}: MdAE {p['median_ae_pt']:.2f}, MdAPE {p['mdape_pct']:.1f}%, "
                f"within 3: {p['within_3pt']:.2f}, within 5: {p['within_5pt']:.2f}"
            )
        return lines + [""]
    return []
