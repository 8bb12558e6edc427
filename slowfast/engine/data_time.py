"""Per-epoch summary of time spent waiting for data against the whole step, to spot an input-bound run."""
import time

# Waiting for data more than this share of the iteration time means the loader limits speed.
INPUT_BOUND_SHARE = 0.2


class EpochDataTimer:
    """Accumulates the loader wait of every iteration of an epoch; ``summary`` gives the means."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.data_seconds = 0.0
        self.iterations = 0

    def add_wait(self, seconds: float) -> None:
        """Record one iteration that waited ``seconds`` for its batch."""
        self.data_seconds += seconds
        self.iterations += 1

    def summary(self) -> dict:
        """``dt`` and ``dt_data`` (mean seconds per iteration), ``data_share`` and ``input_bound``."""
        if self.iterations == 0:
            return {}
        total = time.perf_counter() - self.start
        share = self.data_seconds / total if total > 0 else 0.0
        return {"dt": total / self.iterations, "dt_data": self.data_seconds / self.iterations,
                "data_share": share, "input_bound": share > INPUT_BOUND_SHARE}
