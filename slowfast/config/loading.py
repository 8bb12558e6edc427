"""Merge YAML files and command-line overrides into the defaults, with clear errors."""
import ast
import difflib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.config.defaults import RETIRED_KEYS, get_defaults
from slowfast.config.validation import validate_config
from slowfast.utils.checks import ConfigError

logger = logging.getLogger(__name__)


def get_cfg() -> CfgNode:
    """The default config (mutable copy)."""
    return get_defaults()


def load_config(cfg_file: str | None, overrides: Sequence[str] = ()) -> CfgNode:
    """Defaults <- YAML file (with ``_BASE_``) <- ``KEY VALUE`` overrides; validated and frozen."""
    cfg = get_defaults()
    if cfg_file:
        merge_file(cfg, cfg_file)
    merge_overrides(cfg, overrides)
    validate_config(cfg)
    cfg.freeze()
    return cfg


def merge_file(cfg: CfgNode, cfg_file: str) -> None:
    """Merge one YAML file (and its ``_BASE_`` chain) into ``cfg``."""
    try:
        loaded = CfgNode.load_yaml_with_base(cfg_file)
    except FileNotFoundError as err:
        raise ConfigError(f"config file '{cfg_file}' not found ({err.filename})") from err
    except Exception as err:  # yaml syntax errors and the like
        raise ConfigError(f"config file '{cfg_file}' cannot be read: {err}") from err
    if loaded is None:
        return
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"config file '{cfg_file}' must hold a mapping of keys, got {type(loaded).__name__}")
    _merge_mapping(cfg, loaded, prefix="", source=f"config file '{cfg_file}'")


def merge_overrides(cfg: CfgNode, overrides: Sequence[str]) -> None:
    """Apply ``KEY VALUE`` pairs, e.g. ``["SOLVER.BASE_LR", "0.05"]``."""
    overrides = list(overrides)
    if len(overrides) % 2:
        raise ConfigError(
            f"overrides must be KEY VALUE pairs; got an odd number of items: {overrides}"
        )
    for key, raw in zip(overrides[0::2], overrides[1::2]):
        if _retired(key, _parse_literal(raw), "command-line override"):
            continue
        node, leaf = _locate(cfg, key, source="command-line override")
        node[leaf] = _coerce(_parse_literal(raw), node[leaf], key, "command-line override")


def _merge_mapping(node: CfgNode, values: Mapping, prefix: str, source: str) -> None:
    for name, value in values.items():
        full_key = f"{prefix}{name}"
        if _retired(full_key, value, source):
            continue
        if name not in node:
            raise ConfigError(f"{source}: unknown key {full_key}{_suggest(node, name, prefix)}")
        if isinstance(node[name], CfgNode):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {full_key} is a group of keys, got value {value!r}")
            _merge_mapping(node[name], value, prefix=f"{full_key}.", source=source)
        else:
            node[name] = _coerce(value, node[name], full_key, source)


def _retired(key: str, value: Any, source: str) -> bool:
    """True (after a one-line warning) for a retired key set to a value that asks for nothing
    we do not do; a ConfigError with the key's note for any other value of it."""
    if key not in RETIRED_KEYS:
        return False
    harmless, note = RETIRED_KEYS[key]
    if isinstance(value, tuple):
        value = list(value)
    if value not in harmless:
        raise ConfigError(
            f"{source}: {key} {value!r} cannot be honoured, the key was retired: {note}"
        )
    logger.warning("%s: %s was retired and is ignored: %s", source, key, note)
    return True


def _locate(cfg: CfgNode, key: str, source: str) -> tuple[CfgNode, str]:
    node, parts = cfg, key.split(".")
    for depth, part in enumerate(parts):
        prefix = ".".join(parts[:depth])
        if part not in node:
            raise ConfigError(f"{source}: unknown key {key}{_suggest(node, part, prefix + '.' if prefix else '')}")
        if depth < len(parts) - 1:
            node = node[part]
            if not isinstance(node, CfgNode):
                raise ConfigError(f"{source}: {'.'.join(parts[:depth + 1])} is not a group of keys")
    if isinstance(node[parts[-1]], CfgNode):
        raise ConfigError(f"{source}: {key} is a group of keys; set one of its keys instead")
    return node, parts[-1]


def _parse_literal(raw: str) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def _coerce(value: Any, default: Any, key: str, source: str) -> Any:
    """Accept a value of the default's type; ints where floats are expected; lists for tuples."""
    if default is None or value is None or type(value) is type(default):
        return value
    if isinstance(value, str):  # YAML reads 1e-4 as a string; yacs decodes such literals too
        value = _parse_literal(value)
        if type(value) is type(default):
            return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return type(default)(value)
    raise ConfigError(
        f"{source}: {key} expects a {type(default).__name__} like {default!r}, "
        f"got {type(value).__name__} {value!r}"
    )


def _suggest(node: CfgNode, name: str, prefix: str) -> str:
    close = difflib.get_close_matches(name, list(node.keys()), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else " (see slowfast/config/defaults.py)"
