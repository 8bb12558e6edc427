"""How often a multigrid training crop shows the synthetic dataset's main object, per crop size,
with the scale jitter of MULTIGRID.JITTER_SCALING min (PySlowFast) and min_max.

Objects are drawn with the generator's own tracks (slowfast.datasets.synthetic.render) at the
config's difficulty; the frame's short side is drawn from each shape's jitter range
(slowfast.datasets.transforms.jitter_short_side) and the crop's corner uniformly, as in training.
Prints, per class family and crop: the share of crops holding the object's centre in every frame
of the video (a clip spans two thirds of it), the share holding the whole object, and the mean
radius in pixels of the orientation marker.

python projects/multigrid/results/design/crop_framing.py [CLIPS_PER_CELL]
"""
import sys

import numpy as np

from slowfast.config import load_config
from slowfast.datasets.synthetic.render import DIFFICULTY_LEVELS, PATTERNS, object_track
from slowfast.datasets.transforms import jitter_short_side
from slowfast.multigrid.schedule import build_schedule

CFG = "configs/Synthetic/SLOWFAST_R18_MG.yaml"
FAMILIES = {"translation": range(0, 4), "scaling": (4, 5), "rotation": (6, 7)}


def crop_jitters(scaling: str) -> dict[int, tuple[int, int]]:
    schedule = build_schedule(load_config(CFG, ["MULTIGRID.JITTER_SCALING", scaling]))
    return {shape.crop_size: shape.jitter_scales
            for stage in schedule.stages for shape in stage.short_cycle_shapes}


def framing(class_ids, crop: int, jitter: tuple[int, int], clips: int, size: int, frames: int, motion_scale: float):
    rng = np.random.default_rng(0)
    centre_in = whole_in = 0
    marker_radius = []
    for index in range(clips):
        track = object_track(class_ids[index % len(class_ids)], frames, size, motion_scale, rng)
        short_side = jitter_short_side(rng, *jitter)
        scale = short_side / size
        top, left = rng.integers(0, short_side - crop + 1, 2)
        x, y, radius = track.x * scale - left, track.y * scale - top, track.radius * scale
        centre_in += bool(np.all((x >= 0) & (x <= crop) & (y >= 0) & (y <= crop)))
        whole_in += bool(np.all((x - radius >= 0) & (x + radius <= crop) & (y - radius >= 0) & (y + radius <= crop)))
        marker_radius.append(0.25 * radius.mean())
    return centre_in / clips, whole_in / clips, float(np.mean(marker_radius))


def main() -> None:
    clips = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    cfg = load_config(CFG, [])
    size, frames = cfg.SYNTHETIC.SIZE, cfg.SYNTHETIC.NUM_FRAMES
    motion_scale = DIFFICULTY_LEVELS[cfg.SYNTHETIC.DIFFICULTY].motion_scale
    print(f"{CFG}: {size} px frames, difficulty {cfg.SYNTHETIC.DIFFICULTY}, {clips} clips per cell; "
          f"classes {', '.join(PATTERNS)}")
    print("scaling  crop  jitter     family       centre in crop  whole object in crop  marker radius px")
    for scaling in ("min", "min_max"):
        for crop, jitter in sorted(crop_jitters(scaling).items()):
            for family, class_ids in FAMILIES.items():
                centre, whole, marker = framing(tuple(class_ids), crop, jitter, clips, size, frames, motion_scale)
                print(f"{scaling:<8} {crop:<5} {str(jitter):<10} {family:<12} {centre:>14.2f}  {whole:>20.2f}  "
                      f"{marker:>16.2f}")


if __name__ == "__main__":
    main()
