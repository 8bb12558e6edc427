"""Shared loaders for the evaluation: the two PyAV decoders (committed HEAD and working-tree snapshot) and torchcodec."""
import importlib.util
import os

import numpy as np
import torch
from torchcodec.decoders import VideoDecoder
from torchcodec.transforms import Resize

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# decoder_head.py: `git show HEAD:slowfast/datasets/decoder.py`; decoder_worktree_snapshot.py: copy of the
# working-tree file (mid-rewrite: keyframe table + cache, short_side scaling) taken at the start.
dec_head = _load("decoder_head", "decoder_head.py")
dec_wt = _load("decoder_worktree_snapshot", "decoder_worktree_snapshot.py")

SETS = {
    "k250_s256": os.path.join(HERE, "videos", "k250_s256", "videos"),
    "k16_s256": os.path.join(HERE, "videos", "k16_s256"),
    "k16_s128": os.path.join(HERE, "videos", "k16_s128"),
    "k16_w320": os.path.join(HERE, "videos", "k16_w320"),
}
SHAPES = {"8x8": (8, 8), "32x2": (32, 2)}


def videos(set_name):
    folder = SETS[set_name]
    return [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".mp4")]


def indices_for(num_frames, stride, start_fraction, frame_count=300, fps=30.0):
    return dec_head.clip_frame_indices(frame_count, fps, num_frames, stride, fps, start_fraction)


def pyav(module, path, indices, **kwargs):
    return module.decode_clip(path, lambda info: indices, **kwargs)


def tc(path, indices, mode, size=None):
    transforms = [Resize(size)] if size is not None else None
    decoder = VideoDecoder(path, seek_mode=mode, num_ffmpeg_threads=1, dimension_order="NHWC", transforms=transforms)
    return decoder.get_frames_at(indices.tolist()).data.numpy()
