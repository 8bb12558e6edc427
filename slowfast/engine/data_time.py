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
        """``dt`` and ``dt_data``: mean seconds per iteration, all of it and waiting for the batch."""
        if self.iterations == 0:
            return {}
        total = time.perf_counter() - self.start
        return {"dt": total / self.iterations, "dt_data": self.data_seconds / self.iterations}


def describe_data_time(summary: dict, where: str) -> str:
    """One log line: the share of time spent waiting for data, flagged when the run is input-bound."""
    if not summary or summary["dt"] <= 0:
        return f"{where}: no iterations timed"
    share = summary["dt_data"] / summary["dt"]
    line = (f"{where}: {summary['dt']:.3f} s per iteration, {summary['dt_data']:.3f} s of it waiting for data "
            f"({100 * share:.0f}%)")
    if share > INPUT_BOUND_SHARE:
        line += "; input-bound: raise DATA_LOADER.NUM_WORKERS or re-encode videos (tools/benchmark.py data)"
    return line
