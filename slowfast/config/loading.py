"""Merge YAML files and command-line overrides into the defaults, with clear errors."""
import ast
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.config.defaults import RETIRED_KEYS, get_defaults
from slowfast.utils.checks import ConfigError
from slowfast.config.validation import validate_config


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
        node, leaf = _locate(cfg, key, source="command-line override")
        node[leaf] = _coerce(_parse_literal(raw), node[leaf], key, "command-line override")


def _merge_mapping(node: CfgNode, values: Mapping, prefix: str, source: str) -> None:
    for name, value in values.items():
        full_key = f"{prefix}{name}"
        _reject_retired(full_key, source)
        if name not in node:
            raise ConfigError(f"{source}: unknown key {full_key}{_suggest(node, name, prefix)}")
        if isinstance(node[name], CfgNode):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {full_key} is a group of keys, got value {value!r}")
            _merge_mapping(node[name], value, prefix=f"{full_key}.", source=source)
        else:
            node[name] = _coerce(value, node[name], full_key, source)


def _reject_retired(key: str, source: str) -> None:
    """A key that once existed gets its retirement note, not "unknown key"."""
    if key in RETIRED_KEYS:
        raise ConfigError(f"{source}: {key} was retired: {RETIRED_KEYS[key]}")


def _locate(cfg: CfgNode, key: str, source: str) -> tuple[CfgNode, str]:
    _reject_retired(key, source)
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
