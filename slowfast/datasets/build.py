"""The one place that maps the data spec to datasets: a registry keyed by TRAIN.DATASET / TEST.DATASET."""
import logging
from collections.abc import Iterable
from dataclasses import asdict
from typing import Callable

from torch.utils.data import Dataset

from slowfast.datasets.charades import Charades
from slowfast.datasets.clip_items import SPLITS
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.spec import DataSpec
from slowfast.datasets.ssv2 import Ssv2
from slowfast.datasets.synthetic import ensure_synthetic_dataset

logger = logging.getLogger(__name__)

DatasetBuilder = Callable[[DataSpec, str], Dataset]
DATASET_BUILDERS: dict[str, DatasetBuilder] = {}


def register_dataset(name: str) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """Register ``builder(data, split)`` under a lower-case dataset name."""

    def register(builder: DatasetBuilder) -> DatasetBuilder:
        DATASET_BUILDERS[name.lower()] = builder
        return builder

    return register


def build_dataset(data: DataSpec, split: str) -> Dataset:
    """The dataset of ``split``: TEST.DATASET for "test", TRAIN.DATASET for "train" and "val"; DataError
    when the files its list names are missing (all of them, or more than DATA.MAX_FAILED_SHARE)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    # Checked here, not in the spec: a project may register its dataset after loading the config.
    name = data.dataset(split)
    builder = DATASET_BUILDERS.get(name.lower())
    if builder is None:
        key = "TEST.DATASET" if split == "test" else "TRAIN.DATASET"
        raise ValueError(f"{key} '{name}' is not a known dataset; choose one of {sorted(DATASET_BUILDERS)}")
    return builder(data, split)


@register_dataset("kinetics")
def build_kinetics(data: DataSpec, split: str) -> Dataset:
    """Kinetics-format CSVs in DATA.PATH_TO_DATA_DIR."""
    return Kinetics(data.path_to_data_dir, split, data.options)


@register_dataset("synthetic")
def build_synthetic(data: DataSpec, split: str) -> Dataset:
    """The bundled motion dataset (Kinetics format), generated first when SYNTHETIC.GENERATE is set."""
    ensure_synthetic_data(data)
    return Kinetics(data.path_to_data_dir, split, data.options)


@register_dataset("ssv2")
def build_ssv2(data: DataSpec, split: str) -> Dataset:
    """Something-Something-v2 label JSONs and frame lists in DATA.PATH_TO_DATA_DIR (single-label)."""
    return Ssv2(data.path_to_data_dir, split, data.options)


@register_dataset("charades")
def build_charades(data: DataSpec, split: str) -> Dataset:
    """Charades frame lists with per-frame labels in DATA.PATH_TO_DATA_DIR (multi-label)."""
    if data.ensemble_method != "max" and split == "test":
        logger.warning("Charades test views are combined by DATA.ENSEMBLE_METHOD %r; PySlowFast's Charades "
                       "configs use 'max'", data.ensemble_method)
    return Charades(data.path_to_data_dir, split, data.options)


def fill_decoded_stores(data: DataSpec, splits: Iterable[str]) -> None:
    """Decode ``splits`` (those a run reads) into DATA.DECODED_CACHE_DIR, unless their stores already
    match, so that the run's datasets only map them (a benchmark calls this before its clocks start;
    a run alone fills its stores as it builds its datasets)."""
    if not data.options.decoded_cache_dir:
        return
    for split in splits:
        build_dataset(data, split)


def ensure_synthetic_data(data: DataSpec) -> None:
    """If SYNTHETIC.GENERATE, write the synthetic dataset in TRAIN.DATASET's layout unless it exists."""
    if data.synthetic is None:
        return
    ensure_synthetic_dataset(data.path_to_data_dir, layout=data.synthetic.layout, workers=data.num_workers,
                             **asdict(data.synthetic.options))
