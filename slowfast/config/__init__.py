"""Config loading: defaults, YAML files with ``_BASE_``, ``KEY VALUE`` overrides, validation."""
from slowfast.config.defaults import get_defaults
from slowfast.config.loading import ConfigError, get_cfg, load_config, merge_overrides

__all__ = ["ConfigError", "get_cfg", "get_defaults", "load_config", "merge_overrides"]
