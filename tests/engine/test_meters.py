"""Windowed medians, sample-weighted epoch means and ETA formatting."""
import math

import pytest

from slowfast.engine.meters import EpochAverage, ScalarWindow, format_eta


def test_window_median_uses_only_the_last_values():
    window = ScalarWindow(3)
    assert math.isnan(window.median)
    for value in [100.0, 1.0, 5.0, 2.0]:
        window.add(value)
    assert window.median == 2.0  # median of [1, 5, 2]; 100 has left the window
    assert window.latest == 2.0
    window.add(4.0)
    assert window.median == 4.0  # [5, 2, 4]
    window.reset()
    assert math.isnan(window.latest)
    with pytest.raises(ValueError, match="window_size"):
        ScalarWindow(0)


def test_epoch_average_weights_by_samples():
    average = EpochAverage()
    assert math.isnan(average.mean)
    average.add(1.0, 8)
    average.add(4.0, 2)
    assert average.mean == pytest.approx((8 * 1.0 + 2 * 4.0) / 10)
    assert average.num_samples == 10
    average.reset()
    assert average.num_samples == 0 and math.isnan(average.mean)


def test_format_eta():
    assert format_eta(0) == "0:00:00"
    assert format_eta(59.9) == "0:00:59"
    assert format_eta(3661) == "1:01:01"
    assert format_eta(100 * 3600 + 5) == "100:00:05"
    assert format_eta(-3) == "0:00:00"
    assert format_eta(float("inf")) == "0:00:00"
