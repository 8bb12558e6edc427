"""Seconds per frame of PyAV's two ways to get RGB from a decoded yuv420p frame.

python projects/multigrid/results/design/rgb_conversion.py VIDEO [VIDEO ...]

Frames are decoded with one decoder thread, as `slowfast.datasets.decoder.decode_clip` does.
Interleaved rounds over the same decoded frames; prints the median per-frame time of each and
whether they give the same pixels.
"""
import statistics
import sys
import time

import av
import numpy as np
from av.video.reformatter import VideoReformatter


def main(paths: list[str]) -> None:
    frames = []
    for path in paths:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            frames += list(container.decode(stream))
    ways = {
        "frame.to_ndarray(format='rgb24')": lambda: [f.to_ndarray(format="rgb24") for f in frames],
        "one VideoReformatter for all frames": lambda: [r.reformat(f, format="rgb24").to_ndarray()
                                                        for r in [VideoReformatter()] for f in frames],
    }
    times = {name: [] for name in ways}
    for _ in range(5):
        for name, convert in ways.items():
            start = time.perf_counter()
            convert()
            times[name].append((time.perf_counter() - start) / len(frames))
    a, b = (convert() for convert in ways.values())
    first = frames[0]
    print(f"PyAV {av.__version__}, {len(frames)} frames of {first.width}x{first.height} {first.format.name}")
    for name, values in times.items():
        print(f"{name}: {statistics.median(values) * 1e3:.3f} ms per frame (median of 5 rounds)")
    print("same pixels:", all(np.array_equal(x, y) for x, y in zip(a, b)))


if __name__ == "__main__":
    main(sys.argv[1:])
