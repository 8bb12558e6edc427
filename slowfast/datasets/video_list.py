"""Read a Kinetics-format CSV (``<path><SEP><label>`` per line) into paths and labels, once."""
import os

import numpy as np

from slowfast.datasets.errors import DataError, MissingDataError


def _expected_line(separator: str) -> str:
    return f'"<path>{separator}<label>"'


def resolve_video_path(path: str, path_prefix: str, csv_folder: str) -> str:
    """Absolute paths stay; relative ones join DATA.PATH_PREFIX if set, else the CSV's folder."""
    if os.path.isabs(path):
        return path
    return os.path.join(path_prefix if path_prefix else csv_folder, path)


def read_video_list(
    data_dir: str, split: str, separator: str, num_classes: int, path_prefix: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """``(paths, labels)`` of ``{data_dir}/{split}.csv`` as numpy arrays (no per-item Python objects,
    so forked loader workers do not copy them page by page)."""
    csv_path = os.path.join(data_dir, f"{split}.csv")
    if not os.path.isfile(csv_path):
        raise MissingDataError(
            f"DATA.PATH_TO_DATA_DIR '{data_dir}' has no {split}.csv (expected lines {_expected_line(separator)})"
        )
    csv_folder = os.path.dirname(os.path.abspath(csv_path))
    paths, labels = [], []
    with open(csv_path, "rb") as csv_file:
        for line_number, raw_line in enumerate(csv_file, start=1):
            line = _decode_line(csv_path, line_number, raw_line).strip()
            if not line:
                continue
            path, label = _parse_line(csv_path, line_number, line, separator, num_classes)
            paths.append(resolve_video_path(path, path_prefix, csv_folder))
            labels.append(label)
    if not paths:
        raise DataError(f"'{csv_path}' lists no videos (expected lines {_expected_line(separator)})")
    return np.array(paths), np.array(labels, dtype=np.int64)


def _decode_line(csv_path: str, line_number: int, raw_line: bytes) -> str:
    """One CSV line as text; a line that is not UTF-8 is an error naming its line and byte."""
    try:
        return raw_line.decode("utf-8-sig" if line_number == 1 else "utf-8")  # drop a leading BOM
    except UnicodeDecodeError as error:
        raise DataError(
            f"{csv_path}:{line_number}: byte {raw_line[error.start]:#04x} at column {error.start + 1} "
            f"is not valid UTF-8 ({raw_line!r}); write the CSV, paths included, as UTF-8 (rename "
            "files whose names are not UTF-8)"
        ) from None


def _parse_line(csv_path: str, line_number: int, line: str, separator: str, num_classes: int) -> tuple[str, int]:
    parts = line.rsplit(separator, 1) if separator.strip() else line.rsplit(None, 1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip().lstrip("-").isdigit():
        raise DataError(
            f"{csv_path}:{line_number}: cannot parse {line!r}; expected {_expected_line(separator)} "
            f"with DATA.PATH_LABEL_SEPARATOR={separator!r}"
        )
    label = int(parts[1])
    if not 0 <= label < num_classes:
        raise DataError(
            f"{csv_path}:{line_number}: label {label} is outside [0, MODEL.NUM_CLASSES={num_classes}); "
            "fix the CSV or MODEL.NUM_CLASSES"
        )
    return parts[0].strip(), label
