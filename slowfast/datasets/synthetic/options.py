"""Settings of the synthetic generator (the SYNTHETIC config node)."""
from dataclasses import asdict, dataclass

from slowfast.datasets.synthetic.render import class_names


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

    def __post_init__(self):
        class_names(self.num_classes)
        if (self.clips_per_class < 1 or self.test_clips_per_class < 0 or self.num_frames < 2
                or self.size < 16 or self.size % 2):
            raise ValueError(
                "synthetic options need clips_per_class >= 1, test_clips_per_class >= 0, num_frames >= 2 "
                f"and an even size >= 16, got {self}"
            )

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
