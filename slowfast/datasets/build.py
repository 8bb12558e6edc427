"""The one place that maps the config to datasets: a registry keyed by TRAIN.DATASET / TEST.DATASET."""
import logging
from typing import Callable

from fvcore.common.config import CfgNode
from torch.utils.data import Dataset

from slowfast.config.loading import ConfigError
from slowfast.datasets.charades import Charades
from slowfast.datasets.clip_items import SPLITS
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.ssv2 import Ssv2
from slowfast.datasets.synthetic import ensure_synthetic_dataset

logger = logging.getLogger(__name__)

DatasetBuilder = Callable[[CfgNode, str], Dataset]
DATASET_BUILDERS: dict[str, DatasetBuilder] = {}


def register_dataset(name: str) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """Register ``builder(cfg, split)`` under a lower-case dataset name."""

    def register(builder: DatasetBuilder) -> DatasetBuilder:
        DATASET_BUILDERS[name.lower()] = builder
        return builder

    return register


def build_dataset(cfg: CfgNode, split: str) -> Dataset:
    """The dataset of ``split``: TEST.DATASET for "test", TRAIN.DATASET for "train" and "val"; DataError
    when the files its list names are missing (all of them, or more than DATA.MAX_FAILED_SHARE)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    key = "TEST.DATASET" if split == "test" else "TRAIN.DATASET"
    name = cfg.TEST.DATASET if split == "test" else cfg.TRAIN.DATASET
    builder = DATASET_BUILDERS.get(name.lower())
    if builder is None:
        raise ValueError(f"{key} '{name}' is not a known dataset; choose one of {sorted(DATASET_BUILDERS)}")
    return builder(cfg, split)


def dataset_options(cfg: CfgNode) -> DatasetOptions:
    """Dataset options from the DATA, TEST, MODEL and DATA_LOADER nodes."""
    return DatasetOptions(
        num_classes=cfg.MODEL.NUM_CLASSES,
        path_prefix=cfg.DATA.PATH_PREFIX,
        separator=cfg.DATA.PATH_LABEL_SEPARATOR,
        num_frames=cfg.DATA.NUM_FRAMES,
        sampling_rate=cfg.DATA.SAMPLING_RATE,
        target_fps=cfg.DATA.TARGET_FPS,
        train_jitter_scales=tuple(cfg.DATA.TRAIN_JITTER_SCALES),
        train_crop_size=cfg.DATA.TRAIN_CROP_SIZE,
        test_crop_size=cfg.DATA.TEST_CROP_SIZE,
        num_ensemble_views=cfg.TEST.NUM_ENSEMBLE_VIEWS,
        num_spatial_crops=cfg.TEST.NUM_SPATIAL_CROPS,
        random_flip=cfg.DATA.RANDOM_FLIP,
        inverse_uniform_scale=cfg.DATA.INV_UNIFORM_SAMPLE,
        multi_thread_decode=cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE,
        decoded_cache_gb=cfg.DATA.DECODED_CACHE_GB,
        decoded_cache_dir=cfg.DATA.DECODED_CACHE_DIR,
        num_workers=cfg.DATA_LOADER.NUM_WORKERS,
        seed=cfg.RNG_SEED,
        max_missing_share=cfg.DATA.MAX_FAILED_SHARE,
    )


@register_dataset("kinetics")
def build_kinetics(cfg: CfgNode, split: str) -> Dataset:
    """Kinetics-format CSVs in DATA.PATH_TO_DATA_DIR."""
    return Kinetics(cfg.DATA.PATH_TO_DATA_DIR, split, dataset_options(cfg))


@register_dataset("synthetic")
def build_synthetic(cfg: CfgNode, split: str) -> Dataset:
    """The bundled motion dataset (Kinetics format), generated first when SYNTHETIC.GENERATE is set."""
    ensure_synthetic_data(cfg)
    return Kinetics(cfg.DATA.PATH_TO_DATA_DIR, split, dataset_options(cfg))


@register_dataset("ssv2")
def build_ssv2(cfg: CfgNode, split: str) -> Dataset:
    """Something-Something-v2 label JSONs and frame lists in DATA.PATH_TO_DATA_DIR (single-label)."""
    if cfg.DATA.MULTI_LABEL:
        raise ValueError("TRAIN/TEST.DATASET ssv2 is single-label; set DATA.MULTI_LABEL False")
    return Ssv2(cfg.DATA.PATH_TO_DATA_DIR, split, dataset_options(cfg))


@register_dataset("charades")
def build_charades(cfg: CfgNode, split: str) -> Dataset:
    """Charades frame lists with per-frame labels in DATA.PATH_TO_DATA_DIR (multi-label)."""
    if not cfg.DATA.MULTI_LABEL:
        raise ValueError(
            "TRAIN/TEST.DATASET charades is multi-label; set DATA.MULTI_LABEL True, "
            "MODEL.LOSS_FUNC bce_logit and MODEL.HEAD_ACT sigmoid"
        )
    if cfg.DATA.ENSEMBLE_METHOD != "max" and split == "test":
        logger.warning("Charades test views are combined by DATA.ENSEMBLE_METHOD %r; PySlowFast's Charades "
                       "configs use 'max'", cfg.DATA.ENSEMBLE_METHOD)
    return Charades(cfg.DATA.PATH_TO_DATA_DIR, split, dataset_options(cfg))


def fill_decoded_stores(cfg: CfgNode) -> None:
    """Decode the splits a run of ``cfg`` reads into DATA.DECODED_CACHE_DIR, unless their stores
    already match, so that the run's datasets only map them (a benchmark calls this before its
    clocks start; a run alone fills its stores as it builds its datasets)."""
    if not cfg.DATA.DECODED_CACHE_DIR:
        return
    splits = (("train", "val") if cfg.TRAIN.ENABLE else ()) + (("test",) if cfg.TEST.ENABLE else ())
    for split in splits:
        build_dataset(cfg, split)


# File layout the synthetic generator writes for each TRAIN.DATASET.
SYNTHETIC_LAYOUTS = {"kinetics": "kinetics", "synthetic": "kinetics", "ssv2": "ssv2", "charades": "charades"}


def ensure_synthetic_data(cfg: CfgNode) -> None:
    """If SYNTHETIC.GENERATE, write the synthetic dataset in TRAIN.DATASET's layout unless it exists."""
    if not cfg.SYNTHETIC.GENERATE:
        return
    if cfg.SYNTHETIC.NUM_CLASSES != cfg.MODEL.NUM_CLASSES:  # load_config checks it too
        raise ConfigError(
            f"SYNTHETIC.NUM_CLASSES={cfg.SYNTHETIC.NUM_CLASSES} differs from "
            f"MODEL.NUM_CLASSES={cfg.MODEL.NUM_CLASSES}; set them equal"
        )
    layout = SYNTHETIC_LAYOUTS.get(cfg.TRAIN.DATASET.lower())
    if layout is None:
        raise ConfigError(
            f"SYNTHETIC.GENERATE writes {sorted(SYNTHETIC_LAYOUTS)} layouts; TRAIN.DATASET is "
            f"{cfg.TRAIN.DATASET!r}"
        )
    ensure_synthetic_dataset(
        cfg.DATA.PATH_TO_DATA_DIR,
        layout=layout,
        num_classes=cfg.SYNTHETIC.NUM_CLASSES,
        clips_per_class=cfg.SYNTHETIC.CLIPS_PER_CLASS,
        num_frames=cfg.SYNTHETIC.NUM_FRAMES,
        size=cfg.SYNTHETIC.SIZE,
        difficulty=cfg.SYNTHETIC.DIFFICULTY,
        seed=cfg.SYNTHETIC.SEED,
        test_clips_per_class=cfg.SYNTHETIC.TEST_CLIPS_PER_CLASS,
        workers=cfg.DATA_LOADER.NUM_WORKERS,
    )
