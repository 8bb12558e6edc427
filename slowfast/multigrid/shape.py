"""The shape of one training clip, carried by the batch sampler to the dataset."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ClipShape:
    """What a dataset needs to produce one clip: frames, crop, temporal and scale ranges.

    ``num_frames`` counts the frames the model sees (the fast pathway's for SlowFast).
    ``sampling_rate`` is the inclusive range the per-clip temporal stride is drawn from
    (both ends equal without long cycle). ``jitter_scales`` is the short-side range of the
    training scale jitter, already rescaled for this crop.
    """

    num_frames: int
    crop_size: int
    sampling_rate: tuple[int, int]
    jitter_scales: tuple[int, int]
