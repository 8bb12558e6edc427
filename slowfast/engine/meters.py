"""Small running statistics for training logs: windowed medians, epoch averages, ETA text."""
from __future__ import annotations

import math
import statistics
from collections import deque


class ScalarWindow:
    """The last ``window_size`` values of a scalar; the median smooths per-iteration logs."""

    def __init__(self, window_size: int) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1 (e.g. LOG_PERIOD), got {window_size}")
        self._values: deque[float] = deque(maxlen=window_size)

    def add(self, value: float) -> None:
        self._values.append(float(value))

    def reset(self) -> None:
        self._values.clear()

    @property
    def latest(self) -> float:
        """The most recent value (nan when empty)."""
        return self._values[-1] if self._values else math.nan

    @property
    def median(self) -> float:
        """Median of the window (nan when empty)."""
        return statistics.median(self._values) if self._values else math.nan


class EpochAverage:
    """Mean over an epoch weighted by samples, so a short last batch counts for what it holds."""

    def __init__(self) -> None:
        self.reset()

    def add(self, value: float, num_samples: int) -> None:
        """Record a per-sample mean ``value`` measured on ``num_samples`` samples."""
        self._weighted_sum += float(value) * num_samples
        self.num_samples += num_samples

    def reset(self) -> None:
        self._weighted_sum = 0.0
        self.num_samples = 0

    @property
    def mean(self) -> float:
        """Sample-weighted mean (nan before any sample)."""
        return self._weighted_sum / self.num_samples if self.num_samples else math.nan


def format_eta(seconds: float) -> str:
    """Whole seconds as ``H:MM:SS`` (hours unbounded; negative or non-finite become 0:00:00)."""
    total = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
