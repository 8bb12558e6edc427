"""Per-field checks of config values, each written once and raising ConfigError naming the key.

The section builders that turn config values into specs (model, data, schedule, solver, ...;
``engine/run_spec.build_run_spec``, which ``config.validation.validate_config`` runs on a loaded
config) call them, each rule in the builder of the section that owns its key. This module imports
nothing of slowfast, so every layer can use it without an import cycle (``slowfast.config`` itself
reaches up to the engine's run spec to validate).
"""
from collections.abc import Collection, Sequence
from typing import Any


class ConfigError(ValueError):
    """A config file or override is invalid; the message says which key and what to do."""

NUM_STAGES = 4  # res2..res5


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def one_of(value: Any, allowed: Collection, key: str) -> None:
    """``key`` must take one of ``allowed``."""
    require(value in allowed, f"{key} is {value!r}; expected one of {list(allowed)}")


def at_least(value: Any, minimum: int | float, key: str) -> None:
    """``key`` must be >= ``minimum``."""
    require(value >= minimum, f"{key} must be >= {minimum}, got {value}")


def positive_int(value: Any, key: str) -> None:
    """``key`` must be an int (not a bool) >= 1."""
    require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
            f"{key} must be a positive integer, got {value!r}")


def jitter_scales(scales: Sequence[int]) -> None:
    """DATA.TRAIN_JITTER_SCALES is [min, max] with 0 < min <= max."""
    require(len(scales) == 2 and 0 < scales[0] <= scales[1],
            f"DATA.TRAIN_JITTER_SCALES must be [min, max] with 0 < min <= max, got {list(scales)}")


def per_stage(value: Any, key: str, num_pathways: int | None = None) -> None:
    """A [stage][pathway] list: 4 stages (res2..res5), each of ``num_pathways`` entries if given."""
    stages_ok = isinstance(value, (list, tuple)) and len(value) == NUM_STAGES
    if num_pathways is None:
        require(stages_ok, f"{key} must list 4 stages (res2..res5), each with per-pathway entries; "
                           f"got {value!r}")
        return
    require(stages_ok and all(len(stage) == num_pathways for stage in value),
            f"{key} must list 4 stages x {num_pathways} pathway(s), got {value}")
