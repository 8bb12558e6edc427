"""Generate the synthetic dataset in any of its layouts, once, even with several processes."""
import json
import logging
import os
import shutil
import tempfile
import time

from slowfast.datasets.synthetic.frames import (
    generate_charades_style_dataset,
    generate_ssv2_style_dataset,
)
from slowfast.datasets.synthetic.options import SyntheticOptions
from slowfast.datasets.synthetic.videos import generate_synthetic_dataset
from slowfast.utils.atomic import write_json_atomic

logger = logging.getLogger(__name__)

LAYOUTS = ("kinetics", "ssv2", "charades")


def generator_record(options: SyntheticOptions, layout: str = "kinetics") -> dict:
    """What generator.json holds: the options, plus the layout when it is not the Kinetics one."""
    record = options.record()
    return record if layout == "kinetics" else {**record, "layout": layout}


def generate_dataset(out_dir: str, options: SyntheticOptions, layout: str = "kinetics", workers: int = 0) -> None:
    """Write the dataset in ``layout``: Kinetics videos + CSVs (rendered and encoded by
    ``workers`` processes, 0: this one), or SSv2 / Charades frame folders + lists."""
    writers = {
        "kinetics": generate_synthetic_dataset,
        "ssv2": generate_ssv2_style_dataset,
        "charades": generate_charades_style_dataset,
    }
    if layout not in writers:
        raise ValueError(f"synthetic layout must be one of {LAYOUTS}, got {layout!r}")
    started = time.perf_counter()
    if layout == "kinetics":
        generate_synthetic_dataset(out_dir, options, workers)
    else:
        writers[layout](out_dir, options)
    if layout != "kinetics":
        record = generator_record(options, layout)
        write_json_atomic(os.path.join(out_dir, "generator.json"), record)
        seconds = time.perf_counter() - started
        logger.info("Synthetic %s-style dataset written to %s in %.1f s", layout, out_dir, seconds)


def ensure_synthetic_dataset(data_dir: str, layout: str = "kinetics", workers: int = 0, **options) -> bool:
    """Generate the dataset into ``data_dir`` unless it already has a train.csv; True if generated.

    Safe when several processes call it at once: each writes a private folder, and the
    first to finish moves it into place.
    """
    if not data_dir:
        raise ValueError(
            "DATA.PATH_TO_DATA_DIR is empty; set it to the folder for the synthetic dataset"
        )
    requested = SyntheticOptions(**options)
    if os.path.isfile(os.path.join(data_dir, "train.csv")):
        logger.info("Using the dataset already in %s (it has a train.csv)", data_dir)
        _warn_if_different(data_dir, generator_record(requested, layout))
        return False
    logger.info("No train.csv in %s: generating the synthetic dataset (%s layout, %s)",
                data_dir, layout, requested)
    parent = os.path.dirname(os.path.abspath(data_dir))
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(os.path.abspath(data_dir))
    private = tempfile.mkdtemp(prefix=name + ".tmp-", dir=parent)
    try:
        generate_dataset(private, requested, layout, workers)
        _move_into_place(private, data_dir)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return True


def _move_into_place(private: str, data_dir: str) -> None:
    try:
        os.rename(private, data_dir)  # atomic when data_dir is missing or empty
        return
    except OSError:
        if os.path.isfile(os.path.join(data_dir, "train.csv")):
            return  # another process finished first
    names = sorted(os.listdir(private), key=lambda name: name == "train.csv")
    for name in names:
        target = os.path.join(data_dir, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(os.path.join(private, name), target)


def _warn_if_different(data_dir: str, requested: dict) -> None:
    recorded_path = os.path.join(data_dir, "generator.json")
    if not os.path.isfile(recorded_path):
        return
    with open(recorded_path, encoding="utf-8") as handle:
        recorded = json.load(handle)
    if recorded != requested:
        logger.warning(
            "%s holds a synthetic dataset generated with %s, not the requested %s; "
            "delete the folder to regenerate",
            data_dir,
            recorded,
            requested,
        )
