"""The simplest correct training loader, the yardstick of the data benchmark.

It decodes every frame of the video with PyAV, converts the clip to float and resizes, crops
and flips in float, as a straightforward implementation would.
"""
import av
import numpy as np
import torch
import torch.nn.functional as F

from slowfast.datasets.clip_items import Item, unpack_item
from slowfast.datasets.temporal_sampling import clip_frame_indices, draw_sampling_rate, random_start
from slowfast.datasets.transforms import jitter_short_side, resized_shape
from slowfast.multigrid.shape import ClipShape


def decode_all_frames(path: str) -> np.ndarray:
    """Every frame of the first video stream as uint8 RGB ``[N, H, W, 3]``."""
    with av.open(path) as container:
        return np.stack([frame.to_rgb().to_ndarray() for frame in container.decode(video=0)])


def simple_train_clip(frames: np.ndarray, fps: float, shape: ClipShape, target_fps: float, rng) -> torch.Tensor:
    """Sample, convert to float, jitter-resize, crop and flip one training clip ``[3, T, S, S]`` in [0, 1]."""
    rate = draw_sampling_rate(rng, shape.sampling_rate)
    indices = clip_frame_indices(len(frames), fps, shape.num_frames, rate, target_fps, random_start(rng))
    clip = torch.from_numpy(frames[indices]).float().div(255.0).permute(0, 3, 1, 2)  # T, C, H, W
    short_side = jitter_short_side(rng, shape.jitter_scales[0], shape.jitter_scales[1])
    height, width = resized_shape(clip.shape[2], clip.shape[3], short_side)
    clip = F.interpolate(clip, size=(height, width), mode="bilinear", align_corners=False)
    top = int(rng.integers(0, height - shape.crop_size + 1))
    left = int(rng.integers(0, width - shape.crop_size + 1))
    clip = clip[:, :, top : top + shape.crop_size, left : left + shape.crop_size]
    if rng.uniform() < 0.5:
        clip = clip.flip(3)
    return clip.permute(1, 0, 2, 3).contiguous()


class SimpleVideoDataset(torch.utils.data.Dataset):
    """Training items ``(index, ClipShape[, draw])`` of a video list, loaded the simple way."""

    def __init__(self, paths: list[str], labels: np.ndarray, target_fps: float = 30.0, seed: int = 0):
        self.paths, self.labels = list(paths), labels
        self.target_fps, self.seed = target_fps, seed

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, int, int]:
        index, shape, draw = unpack_item(item)
        rng = np.random.default_rng([self.seed, index, draw or 0])
        path = self.paths[index]
        with av.open(path) as container:
            fps = float(container.streams.video[0].average_rate or self.target_fps)
        clip = simple_train_clip(decode_all_frames(path), fps, shape, self.target_fps, rng)
        return clip, int(self.labels[index]), index
