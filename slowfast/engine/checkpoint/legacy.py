"""Checkpoints written before hooks kept their own state (issue #29) resume exactly.

Those kept an epoch's running sums and failed-video counts in one flat ``epoch_sums`` (mid-epoch
checkpoints only) and the best validation metrics in ``trainer_state``; they are read as the
state of the hooks that own each part now. Nothing writes this layout any more.
"""
from typing import Any, Mapping

# Hook name: (where the old layout kept its state, the keys that were its own).
_OLD_PLACES = {
    "EpochStats": ("epoch_sums", ("loss", "correct", "samples", "steps", "has_correct")),
    "DataHealth": ("epoch_sums", ("skipped_videos", "requested_clips", "failed_videos")),
    "Evaluation": ("trainer_state", ("best_top1", "best_top5", "best_map")),
}


def hook_states(contents: Mapping[str, Any]) -> dict[str, dict]:
    """The hooks' states by name of a checkpoint's contents, whichever layout wrote them."""
    if "hooks" in contents:
        return dict(contents["hooks"])
    states = {}
    for hook, (place, keys) in _OLD_PLACES.items():
        saved = contents.get(place) or {}
        state = {key: saved[key] for key in keys if key in saved}
        if state:
            states[hook] = state
    return states
