"""Where a run's seconds go, per multigrid stage: steps, data wait, validation, precise BN, checkpoints.

Multigrid promises wall clock; this is how a run shows which part eats the FLOP saving.
The split lives in the trainer state, so a resumed run reports its whole history.
"""
import time
from contextlib import contextmanager
from typing import Callable, Iterator

# What a stage's seconds are spent on. "step" is everything of an iteration but the wait for
# its batch (forward, backward, update, logging); "compile" is torch.compile's first calls.
CATEGORIES = ("step", "data", "compile", "val", "precise_bn", "checkpoint")


@contextmanager
def timed(record: Callable[[float], None]) -> Iterator[None]:
    """Pass the seconds the ``with`` body took to ``record``, also when it raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        record(time.perf_counter() - start)


class TimeSplit:
    """Seconds per (stage, category), accumulated over the run."""

    def __init__(self) -> None:
        self.seconds: dict[int, dict[str, float]] = {}

    def add(self, stage: int, category: str, seconds: float) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"time category must be one of {CATEGORIES}, got {category!r}")
        per_stage = self.seconds.setdefault(stage, dict.fromkeys(CATEGORIES, 0.0))
        per_stage[category] += seconds

    def timing(self, stage: int, category: str):
        """Count the seconds of a ``with`` body against ``stage`` and ``category``."""
        return timed(lambda seconds: self.add(stage, category, seconds))

    def records(self) -> list[dict]:
        """One ``time_split`` record per stage, in stage order: each category's seconds and total."""
        return [
            {"_type": "time_split", "stage": stage,
             **{f"{category}_s": round(seconds[category], 3) for category in CATEGORIES},
             "total_s": round(sum(seconds.values()), 3)}
            for stage, seconds in sorted(self.seconds.items())
        ]

    def state_dict(self) -> dict:
        return {str(stage): dict(seconds) for stage, seconds in self.seconds.items()}

    def load_state_dict(self, state: dict) -> None:
        self.seconds = {int(stage): {**dict.fromkeys(CATEGORIES, 0.0), **seconds} for stage, seconds in state.items()}


def format_time_split(records: list[dict]) -> str:
    """The records as a text table, with each category's share of the stage's total."""
    header = ["stage", "total s"] + [category for category in CATEGORIES]
    rows = [header]
    for record in records:
        total = record["total_s"]
        cells = [f"{record[f'{category}_s']:.1f} ({100 * record[f'{category}_s'] / total:.0f}%)" if total else "0"
                 for category in CATEGORIES]
        rows.append([str(record["stage"]), f"{total:.1f}"] + cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
