"""The config's error type, in a module of its own so every config module can raise it."""


class ConfigError(ValueError):
    """A config file or override is invalid; the message says which key and what to do."""
