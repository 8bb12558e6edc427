"""Consistency checks run once after loading, so a bad config stops before training starts.

Validating a config is building the run's spec (``engine/run_spec.build_run_spec``): each section
is built, and each of its rules checked once, by the module that owns it (``models/spec.py``,
``datasets/spec.py``, ``multigrid/spec.py``, ``engine/solver_spec.py``, ...), then the rules across
sections run. No rule is written here. Single-field helpers live in ``utils/checks.py``.
"""
from fvcore.common.config import CfgNode


def validate_config(cfg: CfgNode) -> None:
    """Raise ConfigError, in one line naming the key and what to do, for the first inconsistent value."""
    # The section builders sit above config (and import torch): imported when validating.
    from slowfast.engine.run_spec import build_run_spec

    build_run_spec(cfg)
