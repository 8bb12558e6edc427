"""Checkpoints: the files (layout, atomic save, safe load), strict weight loading, RNG state, and
the one resume path (the most advanced of the epoch and mid-epoch "last" checkpoints)."""
from slowfast.engine.checkpoint.files import (
    CHECKPOINT_SUBDIR,
    CheckpointError,
    checkpoint_dir,
    checkpoint_path,
    epoch_of_checkpoint,
    find_last_checkpoint,
    list_checkpoints,
    load_checkpoint_file,
    save_checkpoint,
    write_checkpoint_file,
)
from slowfast.engine.checkpoint.model_state import HEAD_PREFIX, LoadReport, load_model_state, load_pretrained
from slowfast.engine.checkpoint.resume import (
    LAST_NAME,
    RESUMABLE_KEY_PREFIXES,
    CheckpointTimer,
    check_resumable,
    check_same_run,
    last_checkpoint_path,
    newest_checkpoint,
    prune_epoch_checkpoints,
    remove_torn_temporaries,
    resume_latest,
    save_last_checkpoint,
    saved_value,
)
from slowfast.engine.checkpoint.rng import capture_rng_state, restore_rng_state

__all__ = [
    "CHECKPOINT_SUBDIR", "HEAD_PREFIX", "LAST_NAME", "RESUMABLE_KEY_PREFIXES", "CheckpointError",
    "CheckpointTimer", "LoadReport", "capture_rng_state", "check_resumable", "check_same_run", "checkpoint_dir",
    "checkpoint_path", "epoch_of_checkpoint", "find_last_checkpoint", "last_checkpoint_path",
    "list_checkpoints", "load_checkpoint_file", "load_model_state", "load_pretrained",
    "newest_checkpoint", "prune_epoch_checkpoints", "remove_torn_temporaries", "restore_rng_state",
    "resume_latest", "save_checkpoint", "save_last_checkpoint", "saved_value", "write_checkpoint_file",
]
