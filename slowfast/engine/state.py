"""What a checkpoint keeps of the loop itself: step counters and the time split so far.

Hooks keep their own state (``HookBase.state_dict``): the best validation metrics are the
evaluation hook's, an epoch's running sums the epoch-statistics hook's.
"""
from dataclasses import dataclass, field

from slowfast.engine.time_split import TimeSplit


@dataclass
class TrainerState:
    """The loop's counters (over all ranks) and the run's time split; plain Python in a checkpoint.

    ``skipped_steps`` is written only once it has a value, as checkpoints always had it.
    """

    global_iter: int = 0
    samples_seen: int = 0
    skipped_steps: int = 0
    time_split: TimeSplit = field(default_factory=TimeSplit)

    def state_dict(self) -> dict:
        state = {"global_iter": self.global_iter, "samples_seen": self.samples_seen}
        if self.skipped_steps:
            state["skipped_steps"] = self.skipped_steps
        return {**state, "time_split": self.time_split.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`; a key the state lacks keeps its default."""
        self.time_split.load_state_dict(state.get("time_split", {}))
        for key in ("global_iter", "samples_seen", "skipped_steps"):
            if key in state:
                setattr(self, key, state[key])
