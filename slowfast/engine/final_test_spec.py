"""The final multi-view test's section of the config, read once: ``final_test_spec(cfg) -> FinalTestSpec``.

Whether the run tests, which checkpoint, at what batch size, and where its scores go. How the test
clips are cut (views x crops, the test crop) is the data section's (``datasets/spec.py``).
"""
from dataclasses import dataclass

from fvcore.common.config import CfgNode


@dataclass(frozen=True)
class FinalTestSpec:
    """What the tester and the checks before a test-only run need; field comments name the keys."""

    enable: bool  # TEST.ENABLE
    checkpoint_file_path: str  # TEST.CHECKPOINT_FILE_PATH ("": the run's last, else TRAIN's)
    checkpoint_type: str  # TEST.CHECKPOINT_TYPE
    batch_size: int  # TEST.BATCH_SIZE (global; a multiple of the devices, checked across sections)
    save_results_path: str  # TEST.SAVE_RESULTS_PATH ("": not saved), under OUTPUT_DIR
    allow_random_init: bool  # TEST.ALLOW_RANDOM_INIT


def final_test_spec(cfg: CfgNode) -> FinalTestSpec:
    """The TEST keys of the tester (TEST.BATCH_SIZE's rule needs the devices: see ``run_spec.check_sections``)."""
    test = cfg.TEST
    return FinalTestSpec(
        enable=test.ENABLE,
        checkpoint_file_path=test.CHECKPOINT_FILE_PATH,
        checkpoint_type=test.CHECKPOINT_TYPE,
        batch_size=test.BATCH_SIZE,
        save_results_path=test.SAVE_RESULTS_PATH,
        allow_random_init=test.ALLOW_RANDOM_INIT,
    )
