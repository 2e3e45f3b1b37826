"""The predicted-vs-actual figure's fixed layout: panels, legend and titles inside the figure,
whatever the number of fitters and benchmarks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from obslaws.report import plots


def _cells(fitters: int, benchmarks: int, per: int = 30) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = fitters * benchmarks * per
    truth = rng.uniform(0, 1, n)
    prediction = np.clip(truth + rng.normal(0, 0.05, n), 0, 1)
    lower = np.where(np.arange(n) % 7 == 0, np.nan, prediction - 0.1)  # some cells without an interval
    return pl.DataFrame(
        {
            "fitter": [f"fitter-with-a-long-name-{i % fitters}" for i in range(n)],
            "benchmark": [f"benchmark_{(i // fitters) % benchmarks}" for i in range(n)],
            "truth": truth,
            "prediction": prediction,
            "lower": lower,
            "upper": prediction + 0.1,
        }
    ).with_columns(pl.col("lower").fill_nan(None))


@pytest.mark.parametrize(("fitters", "benchmarks"), [(1, 1), (2, 40), (5, 6), (11, 10)])
def test_every_part_of_the_figure_lies_inside_it(fitters, benchmarks, tmp_path, monkeypatch):
    kept = {}
    monkeypatch.setattr(plt, "close", lambda fig: kept.setdefault("fig", fig))  # keep it to measure
    path = plots.predicted_vs_actual(_cells(fitters, benchmarks), "a title", tmp_path / "f.png")
    fig = kept["fig"]
    renderer = fig.canvas.get_renderer()
    whole = fig.bbox
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == fitters
    boxes = [ax.get_tightbbox(renderer) for ax in drawn] + [fig.legends[0].get_window_extent(renderer)]
    boxes.append(fig._suptitle.get_window_extent(renderer))
    for box in boxes:  # labels, ticks, titles and the legend: none cut off at an edge
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1, box
    legend = fig.legends[0].get_window_extent(renderer)
    assert all(legend.y1 <= ax.get_tightbbox(renderer).y0 for ax in drawn)  # below every panel
    for a, b in ((a, b) for i, a in enumerate(drawn) for b in drawn[i + 1 :]):  # panels do not overlap
        assert not a.get_tightbbox(renderer).overlaps(b.get_tightbbox(renderer))
    assert fig.legends[0].get_texts()[0].get_text() == "benchmark_0"
    size = (round(fig.get_figheight() * plots.DPI), round(fig.get_figwidth() * plots.DPI))
    assert imread(path).shape[:2] == size
    plt.close(fig)
