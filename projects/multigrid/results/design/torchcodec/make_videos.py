"""Test videos: Kinetics-like set from slowfast.benchmark.videos, plus re-encodes with a keyframe every 16 frames.

Sets (8 videos each):
  k250_s256 : write_kinetics_like defaults: 340x256, 30 fps, 10 s, keyint 250, bframes 3
  k16_s256  : same frames (decoded with PyAV) re-encoded, keyint 16, crf 23, veryfast, 340x256
  k16_s128  : same, resized to short side 128 (resized_shape -> 128x170), keyint 16
  k16_w320  : diagnostic only, resized to 320x256 (width a multiple of 32: torchcodec's swscale path)
"""
import os
import sys

import av
import numpy as np

from slowfast.benchmark.videos import VideoSpec, write_kinetics_like
from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.datasets.transforms import resized_shape

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "videos")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 8


def decoded_rgb(path, height, width):
    with av.open(path) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if (frame.height, frame.width) != (height, width):
                yield frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
            else:
                yield frame.to_ndarray(format="rgb24")


def main():
    spec = VideoSpec()
    sources = write_kinetics_like(os.path.join(ROOT, "k250_s256"), N, spec)
    targets = {
        "k16_s256": (spec.height, spec.width),
        "k16_s128": resized_shape(spec.height, spec.width, 128),
        "k16_w320": (256, 320),
    }
    options = {"x264-params": fixed_keyframes(16), "crf": "23", "preset": "veryfast"}
    for name, (height, width) in targets.items():
        os.makedirs(os.path.join(ROOT, name), exist_ok=True)
        for source in sources:
            path = os.path.join(ROOT, name, os.path.basename(source))
            if not os.path.exists(path):
                write_h264(path, decoded_rgb(source, height, width), spec.fps, height, width, options)
    for name in ["k250_s256"] + list(targets):
        folder = os.path.join(ROOT, name) if name != "k250_s256" else os.path.join(ROOT, name, "videos")
        for file in sorted(os.listdir(folder)):
            if not file.endswith(".mp4"):
                continue
            path = os.path.join(folder, file)
            with av.open(path) as c:
                s = c.streams.video[0]
                keys = sum(1 for p in c.demux(s) if p.is_keyframe)
                print(name, file, f"{s.width}x{s.height}", "frames", s.frames, "rate", s.average_rate,
                      "keyframes", keys, "has_b_frames", s.codec_context.has_b_frames, "bytes", os.path.getsize(path))


if __name__ == "__main__":
    main()
