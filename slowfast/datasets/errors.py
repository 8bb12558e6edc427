"""Errors of a dataset's files (missing or malformed lists): user errors the CLI reports in one line."""


class DataError(ValueError):
    """A dataset file is missing or malformed; the message names the file and what to fix."""


class MissingDataError(DataError, FileNotFoundError):
    """A file the dataset needs does not exist (also a FileNotFoundError, for callers that expect one)."""
