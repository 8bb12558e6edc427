"""Seconds to decode a split into memory (DecodedVideoCache.fill, 2 forked processes) with the
decoder's RGB conversion as it is and with the former ``frame.to_ndarray(format="rgb24")``.

python projects/multigrid/results/design/fill_conversion.py CSV [ROUNDS]
"""
import os
import sys
import time

import numpy as np

from slowfast.datasets import decoder
from slowfast.datasets.frame_cache import DecodedVideoCache


def former_to_array(path: str, frames: list) -> np.ndarray:
    return np.stack([frame.to_ndarray(format="rgb24") for frame in frames])


def main(csv: str, rounds: int) -> None:
    root = os.path.dirname(csv)
    with open(csv) as handle:
        paths = [os.path.join(root, line.split()[0]) for line in handle if line.strip()]
    current = decoder._to_array
    for round_index in range(rounds):
        variants = (("one VideoReformatter per clip", current), ("to_ndarray(format='rgb24')", former_to_array))
        for name, convert in variants:
            decoder._to_array = convert
            start = time.perf_counter()
            DecodedVideoCache.fill(paths, 2**33, 2, csv)
            seconds = time.perf_counter() - start
            print(f"round {round_index}: {name}: {seconds:.1f} s for {len(paths)} videos", flush=True)
    decoder._to_array = current


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
