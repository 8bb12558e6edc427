"""CPU seconds per clip: PyAV (project decode_clip, HEAD and working-tree snapshot) vs torchcodec, interleaved.

Each trial draws a video and a start fraction, then runs every method once on the same indices in a freshly
shuffled order; time.process_time (CPU of this process, all threads) and perf_counter around each call, which
includes opening the file and, for torchcodec, constructing the VideoDecoder (a loader opens a video per clip).
All single-threaded: PyAV thread_count=1 (decode_clip threads=False), torchcodec num_ffmpeg_threads=1,
torch.set_num_threads(1). Writes raw per-call rows to bench_raw.csv and prints a summary.
usage: python bench.py TRIALS [out.csv]
"""
import csv
import os
import random
import sys
import time

import numpy as np

from common import SETS, SHAPES, dec_head, dec_wt, indices_for, pyav, tc, videos
from slowfast.datasets.transforms import resized_shape

TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 60
OUT = sys.argv[2] if len(sys.argv) > 2 else "bench_raw.csv"
WARMUP = 4


def wt_cold(path, idx, **kw):
    dec_wt._KEYFRAME_CACHE.clear()
    return pyav(dec_wt, path, idx, **kw)


def stored_methods(height, width):
    return {
        "pyav_head": lambda p, i: pyav(dec_head, p, i),
        "pyav_wt": lambda p, i: pyav(dec_wt, p, i),          # keyframe cache warm after first visit
        "pyav_wt_cold": lambda p, i: wt_cold(p, i),          # cache cleared before each call
        "tc_approx": lambda p, i: tc(p, i, "approximate"),
        "tc_exact": lambda p, i: tc(p, i, "exact"),
    }


def resize_methods(short, height, width):
    h, w = resized_shape(height, width, short)
    return {
        f"pyav_wt_s{short}": lambda p, i: pyav(dec_wt, p, i, short_side=short),
        f"tc_approx_s{short}": lambda p, i: tc(p, i, "approximate", size=(h, w)),
        f"tc_exact_s{short}": lambda p, i: tc(p, i, "exact", size=(h, w)),
    }


def configs():
    for set_name in ("k250_s256", "k16_s256", "k16_s128", "k16_w320"):
        height, width = (128, 170) if set_name == "k16_s128" else (256, 320 if set_name == "k16_w320" else 340)
        for shape in SHAPES:
            yield set_name, shape, "stored", stored_methods(height, width)
            if set_name in ("k250_s256", "k16_s256"):
                for short in (128, 288):
                    yield set_name, shape, f"resize{short}", resize_methods(short, height, width)


def main():
    rng = np.random.default_rng(1)
    order_rng = random.Random(2)
    rows = []
    with open(OUT, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["set", "shape", "group", "trial", "video", "start_fraction", "first", "last", "method",
                         "position", "cpu_s", "wall_s", "out_shape"])
        for set_name, shape, group, methods in configs():
            paths = videos(set_name)
            num_frames, stride = SHAPES[shape]
            for trial in range(-WARMUP, TRIALS):
                path = paths[int(rng.integers(len(paths)))]
                start = float(rng.uniform())
                idx = indices_for(num_frames, stride, start)
                names = list(methods)
                order_rng.shuffle(names)
                for position, name in enumerate(names):
                    c0, w0 = time.process_time(), time.perf_counter()
                    out = methods[name](path, idx)
                    c1, w1 = time.process_time(), time.perf_counter()
                    assert out.dtype == np.uint8 and out.shape[0] == num_frames and out.shape[-1] == 3
                    if trial >= 0:
                        writer.writerow([set_name, shape, group, trial, os.path.basename(path), f"{start:.4f}",
                                         idx[0], idx[-1], name, position, f"{c1 - c0:.6f}", f"{w1 - w0:.6f}",
                                         "x".join(map(str, out.shape))])
            handle.flush()
            print(f"done {set_name} {shape} {group}", flush=True)


if __name__ == "__main__":
    main()
