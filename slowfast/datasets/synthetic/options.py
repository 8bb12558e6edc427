"""Settings of the synthetic generator (the SYNTHETIC config node)."""
from dataclasses import asdict, dataclass

from slowfast.datasets.synthetic.render import DIFFICULTY_LEVELS, MAX_CLASSES
from slowfast.utils.checks import at_least, one_of, require


@dataclass(frozen=True)
class SyntheticOptions:
    """Generator settings (the SYNTHETIC config node)."""

    num_classes: int = 8
    clips_per_class: int = 24
    num_frames: int = 48
    size: int = 64
    difficulty: int = 1
    seed: int = 0
    test_clips_per_class: int = 0  # 0: a quarter of clips_per_class, at least 2

    def __post_init__(self) -> None:
        # Named after the config keys: the config's SYNTHETIC node is checked here, once.
        require(1 <= self.num_classes <= MAX_CLASSES,
                f"SYNTHETIC.NUM_CLASSES must be in [1, {MAX_CLASSES}], got {self.num_classes}")
        at_least(self.clips_per_class, 1, "SYNTHETIC.CLIPS_PER_CLASS")
        at_least(self.test_clips_per_class, 0, "SYNTHETIC.TEST_CLIPS_PER_CLASS")
        at_least(self.num_frames, 2, "SYNTHETIC.NUM_FRAMES")
        require(self.size >= 16 and self.size % 2 == 0, f"SYNTHETIC.SIZE must be even and >= 16, got {self.size}")
        one_of(self.difficulty, range(len(DIFFICULTY_LEVELS)), "SYNTHETIC.DIFFICULTY")

    def record(self) -> dict:
        """The options as generator.json records them (``test_clips_per_class`` only when set, so
        datasets written before it existed still match)."""
        record = asdict(self)
        if not self.test_clips_per_class:
            del record["test_clips_per_class"]
        return record

    def clips_in_split(self, split: str) -> int:
        """Videos per class: ``clips_per_class`` for train, ``test_clips_per_class`` for test when
        set, else a quarter of ``clips_per_class`` (at least 2), as for val."""
        if split == "train":
            return self.clips_per_class
        if split == "test" and self.test_clips_per_class:
            return self.test_clips_per_class
        return max(2, self.clips_per_class // 4)
