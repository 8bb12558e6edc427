"""Config loading: defaults, YAML files with ``_BASE_``, ``KEY VALUE`` overrides, validation."""
from slowfast.config.defaults import get_defaults
from slowfast.config.loading import get_cfg, load_config, merge_overrides
from slowfast.utils.checks import ConfigError

__all__ = ["ConfigError", "get_cfg", "get_defaults", "load_config", "merge_overrides"]
