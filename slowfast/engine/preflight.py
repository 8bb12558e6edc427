"""Checks a run makes before it starts anything (processes, files), so that a first mistake stops
with one line and leaves OUTPUT_DIR as it was."""
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.run_spec import RunSpec
from slowfast.engine.tester import check_test_checkpoint
from slowfast.utils.env import check_gpus


def check_before_start(spec: RunSpec) -> None:
    """Raise ConfigError or CheckpointError when the run cannot go far: NUM_GPUS more than this
    machine shows, OUTPUT_DIR holding another run's checkpoints (training resumes from there), or
    a test-only run without a checkpoint to test."""
    check_gpus(spec.place.num_gpus)
    if spec.train.enable and spec.train.auto_resume:
        ckpt.check_resumable(spec.place.output_dir, spec.config_yaml)
    check_test_checkpoint(spec)
