"""Fixtures of the command-line tool tests."""
import importlib.util
import logging
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder (tools/ and configs/ live there)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def load_tool():
    """Import a script of tools/ as a module (tools/ is not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"tools_{name}", REPO_ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny in-process runs gain nothing from intra-op threads, which spin when the cores are shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _drop_run_log_handlers():
    """A run attaches handlers to the root logger; remove them so later tests start clean."""
    before = list(logging.getLogger().handlers)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """A tiny synthetic dataset (4 classes, 32 training videos of 16 frames at 32 px)."""
    from slowfast.datasets.synthetic import SyntheticOptions, generate_synthetic_dataset

    folder = tmp_path_factory.mktemp("synthetic")
    options = SyntheticOptions(num_classes=4, clips_per_class=8, num_frames=16, size=32, difficulty=0)
    generate_synthetic_dataset(str(folder), options)
    return folder
