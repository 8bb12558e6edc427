"""Fixtures every test folder shares: one torch thread, clean log handlers, a tiny synthetic dataset."""
import logging
from pathlib import Path

import pytest
import torch

from slowfast.datasets.synthetic import SyntheticOptions, generate_synthetic_dataset

# 4 classes x 8 clips: 32 training videos, 8 validation and 8 test videos of 16 frames at 32 px.
TINY_SYNTHETIC = SyntheticOptions(num_classes=4, clips_per_class=8, num_frames=16, size=32, difficulty=0)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and idle OpenMP threads spin when other
    processes share the cores (a run then takes several times longer)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _drop_run_log_handlers():
    """setup_logging attaches handlers to the root logger; remove them so later tests start clean."""
    before = list(logging.getLogger().handlers)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """The tiny synthetic dataset, written once per test session."""
    folder = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_dataset(str(folder), TINY_SYNTHETIC)
    return folder
