"""What a checkpoint keeps of the trainer: step counters, best accuracies, the time split so far."""
from dataclasses import dataclass, field
from typing import Optional

from slowfast.engine.time_split import TimeSplit


@dataclass
class TrainerState:
    """The run's counters (over all ranks) and best validation metrics; plain Python in a checkpoint.

    ``best_top5``, ``best_map`` and ``skipped_steps`` are written only once they have a value;
    :meth:`load_state_dict` keeps the default of any key a state lacks.
    """

    global_iter: int = 0
    samples_seen: int = 0
    best_top1: float = 0.0
    best_top5: Optional[float] = None
    best_map: Optional[float] = None
    skipped_steps: int = 0
    time_split: TimeSplit = field(default_factory=TimeSplit)

    def best(self, metric: str) -> float:
        """The best ``top1``/``top5``/``map`` so far (0 before any validation)."""
        value = getattr(self, f"best_{metric}")
        return 0.0 if value is None else value

    def update_best(self, results: dict) -> None:
        """Keep the best of each metric the validation ``results`` hold."""
        for metric in ("top1", "top5", "map"):
            if metric in results:
                setattr(self, f"best_{metric}", max(self.best(metric), results[metric]))

    def state_dict(self) -> dict:
        state = {"global_iter": self.global_iter, "samples_seen": self.samples_seen, "best_top1": self.best_top1}
        for key in ("best_top5", "best_map"):
            if getattr(self, key) is not None:
                state[key] = getattr(self, key)
        if self.skipped_steps:
            state["skipped_steps"] = self.skipped_steps
        return {**state, "time_split": self.time_split.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`; a key the state lacks keeps its default."""
        self.time_split.load_state_dict(state.get("time_split", {}))
        for key in ("global_iter", "samples_seen", "best_top1", "best_top5", "best_map", "skipped_steps"):
            if key in state:
                setattr(self, key, state[key])
