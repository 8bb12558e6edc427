"""Settings of the synthetic generator (the SYNTHETIC config node)."""
from dataclasses import dataclass

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

    def __post_init__(self):
        class_names(self.num_classes)
        if self.clips_per_class < 1 or self.num_frames < 2 or self.size < 16 or self.size % 2:
            raise ValueError(
                "synthetic options need clips_per_class >= 1, num_frames >= 2 and an even "
                f"size >= 16, got {self}"
            )

    def clips_in_split(self, split: str) -> int:
        """Videos per class: ``clips_per_class`` for train, a quarter (at least 2) for val, test."""
        return self.clips_per_class if split == "train" else max(2, self.clips_per_class // 4)
