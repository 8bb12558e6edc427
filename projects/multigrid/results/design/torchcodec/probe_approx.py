"""Why is seek_mode='approximate' slower on keyint-16 clips? Time get_frames_at (decoder built beforehand) for
index lists inside one GOP vs crossing GOP boundaries, approximate vs exact. Interleaved, CPU time, medians."""
import time
import numpy as np
import torch
from torchcodec.decoders import VideoDecoder
torch.set_num_threads(1)
path = "videos/k16_s256/video_0003.mp4"
cases = {
    "within one GOP: 34..46 step 2 (7 frames)": list(range(34, 47, 2)),
    "crossing 4 GOPs: 100..162 step 2 (32 frames)": list(range(100, 163, 2)),
    "one frame per GOP: 100..156 step 8 (8 frames)": list(range(100, 157, 8)),
    "every frame 96..159 (64 frames)": list(range(96, 160)),
}
res = {}
for rep in range(15):
    for name, idx in cases.items():
        for mode in ("approximate", "exact"):
            d = VideoDecoder(path, seek_mode=mode, num_ffmpeg_threads=1, dimension_order="NHWC")
            t = time.process_time(); d.get_frames_at(idx); t = time.process_time() - t
            if rep:
                res.setdefault((name, mode), []).append(t)
for name in cases:
    a, e = np.median(res[(name, "approximate")]), np.median(res[(name, "exact")])
    print(f"{name:48s} approx {a*1000:7.2f} ms  exact {e*1000:7.2f} ms  ratio {a/e:.2f}")
