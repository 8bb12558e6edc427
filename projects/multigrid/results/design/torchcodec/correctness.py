"""Same frame indices from PyAV (project decoder) and torchcodec: which frames, and how far the RGB pixels differ."""
import sys

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from common import SETS, SHAPES, dec_head, dec_wt, indices_for, pyav, tc, videos
from slowfast.datasets.transforms import resized_shape

rng = np.random.default_rng(0)


def all_frames(path):
    """Every frame in decoding order (ground-truth numbering), as PyAV VideoFrames."""
    with av.open(path) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        return list(c.decode(s))


def bt601_float(frame):
    """Reference RGB: yuv420p with nearest chroma upsampling, BT.601 limited range, in float, rounded."""
    yuv = frame.to_ndarray(format="yuv420p")
    h, w = frame.height, frame.width
    y = yuv[:h].astype(np.float64)
    u = yuv[h:h + h // 4].reshape(h // 2, w // 2).astype(np.float64)
    v = yuv[h + h // 4:].reshape(h // 2, w // 2).astype(np.float64)
    u = np.repeat(np.repeat(u, 2, 0), 2, 1)[:h, :w] - 128
    v = np.repeat(np.repeat(v, 2, 0), 2, 1)[:h, :w] - 128
    y = (y - 16) * 255 / 219
    r = y + 1.402 * 255 / 224 * v
    g = y - 0.344136 * 255 / 224 * u - 0.714136 * 255 / 224 * v
    b = y + 1.772 * 255 / 224 * u
    return np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


def stat(a, b):
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return d.max(), d.mean(), (d > 0).mean(), (d > 2).mean()


def fmt(name, s):
    return f"{name}: max {s[0]:3d} mean {s[1]:.3f} frac>0 {s[2]:.3f} frac>2 {s[3]:.4f}"


def main():
    clips = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    for set_name in SETS:
        paths = videos(set_name)
        agg = {}
        identity_bad = 0
        identity_total = 0
        for clip in range(clips):
            path = paths[clip % len(paths)]
            frames = all_frames(path)
            shape = list(SHAPES.values())[clip % 2]
            idx = indices_for(shape[0], shape[1], float(rng.uniform()))
            ref_av = np.stack([VideoReformatter().reformat(frames[i], format="rgb24").to_ndarray() for i in idx])
            ref_float = np.stack([bt601_float(frames[i]) for i in idx])
            ref_bicubic = np.stack([frames[i].reformat(format="rgb24", interpolation="BICUBIC").to_ndarray() for i in idx])
            out = {
                "pyav_head": pyav(dec_head, path, idx),
                "pyav_wt": pyav(dec_wt, path, idx),
                "tc_approx": tc(path, idx, "approximate"),
                "tc_exact": tc(path, idx, "exact"),
            }
            # identity: each returned frame must equal, bit for bit, the frame with the same index from a
            # sequential decode of the whole file (display order), converted by PyAV; else report the nearest
            for name, arr in out.items():
                for k, i in enumerate(idx):
                    identity_total += 1
                    if not np.array_equal(arr[k], ref_av[k]):
                        identity_bad += 1
                        cands = list(range(max(0, i - 3), min(len(frames), i + 4)))
                        errs = [np.abs(arr[k].astype(np.int16) - VideoReformatter().reformat(frames[j], format="rgb24")
                                       .to_ndarray().astype(np.int16)).mean() for j in cands]
                        print(f"  NOT IDENTICAL {set_name} {name} index {i}: nearest {cands[int(np.argmin(errs))]} "
                              f"(mean abs {min(errs):.3f})")
            pairs = {
                "pyav_head vs sequential-decode(PyAV reformat)": (out["pyav_head"], ref_av),
                "pyav_wt vs pyav_head": (out["pyav_wt"], out["pyav_head"]),
                "tc_exact vs tc_approx": (out["tc_exact"], out["tc_approx"]),
                "tc_exact vs pyav_head": (out["tc_exact"], out["pyav_head"]),
                "tc_exact vs PyAV reformat BICUBIC": (out["tc_exact"], ref_bicubic),
                "pyav_head vs float BT.601 (nearest chroma)": (out["pyav_head"], ref_float),
                "tc_exact vs float BT.601 (nearest chroma)": (out["tc_exact"], ref_float),
            }
            for name, (a, b) in pairs.items():
                s = stat(a, b)
                prev = agg.get(name, [0, [], [], []])
                agg[name] = [max(prev[0], s[0]), prev[1] + [s[1]], prev[2] + [s[2]], prev[3] + [s[3]]]
        print(f"== {set_name} ({clips} clips, shapes alternating 8x8 / 32x2): frames not bit-identical to the sequential decode at the same index "
              f"{identity_bad}/{identity_total}")
        for name, (mx, means, f0, f2) in agg.items():
            print("  " + fmt(name, (mx, float(np.mean(means)), float(np.mean(f0)), float(np.mean(f2)))))
        if set_name in ("k250_s256", "k16_s256"):
            resize_check(paths, set_name)


def resize_check(paths, set_name):
    import cv2
    for short in (128, 288):
        agg = {}
        for clip in range(4):
            path = paths[clip % len(paths)]
            idx = indices_for(8, 8, float(rng.uniform()))
            h, w = resized_shape(256, 340, short)
            a = pyav(dec_wt, path, idx, short_side=short)
            b = tc(path, idx, "exact", size=(h, w))
            full = pyav(dec_head, path, idx)
            interp = cv2.INTER_AREA if short < 256 else cv2.INTER_LINEAR
            c = np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in full])
            for name, pair in {"pyav_wt(short_side) vs tc Resize": (a, b),
                               "pyav_wt(short_side) vs cv2(pyav stored size)": (a, c),
                               "tc Resize vs cv2(pyav stored size)": (b, c)}.items():
                s = stat(*pair)
                agg.setdefault(name, []).append(s)
        print(f"  -- resize to short side {short} ({h}x{w}), 4 clips 8x8; shapes pyav {a.shape} tc {b.shape}")
        for name, ss in agg.items():
            print("    " + fmt(name, (max(s[0] for s in ss), float(np.mean([s[1] for s in ss])),
                                    float(np.mean([s[2] for s in ss])), float(np.mean([s[3] for s in ss])))))


if __name__ == "__main__":
    main()
