"""Fixtures of the command-line tool tests."""
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

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


