"""The one place that maps the config to datasets: a registry keyed by TRAIN.DATASET / TEST.DATASET."""
from typing import Callable

from fvcore.common.config import CfgNode
from torch.utils.data import Dataset

from slowfast.datasets.kinetics import SPLITS, Kinetics, KineticsOptions
from slowfast.datasets.synthetic import ensure_synthetic_dataset

DatasetBuilder = Callable[[CfgNode, str], Dataset]
DATASET_BUILDERS: dict[str, DatasetBuilder] = {}


def register_dataset(name: str) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """Register ``builder(cfg, split)`` under a lower-case dataset name."""

    def register(builder: DatasetBuilder) -> DatasetBuilder:
        DATASET_BUILDERS[name.lower()] = builder
        return builder

    return register


def build_dataset(cfg: CfgNode, split: str) -> Dataset:
    """The dataset of ``split``: TEST.DATASET for "test", TRAIN.DATASET for "train" and "val"."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    key = "TEST.DATASET" if split == "test" else "TRAIN.DATASET"
    name = cfg.TEST.DATASET if split == "test" else cfg.TRAIN.DATASET
    builder = DATASET_BUILDERS.get(name.lower())
    if builder is None:
        raise ValueError(f"{key} '{name}' is not a known dataset; choose one of {sorted(DATASET_BUILDERS)}")
    return builder(cfg, split)


def kinetics_options(cfg: CfgNode) -> KineticsOptions:
    """Kinetics dataset options from the DATA, TEST, MODEL and DATA_LOADER nodes."""
    return KineticsOptions(
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
        seed=cfg.RNG_SEED,
    )


@register_dataset("kinetics")
def build_kinetics(cfg: CfgNode, split: str) -> Dataset:
    """Kinetics-format CSVs in DATA.PATH_TO_DATA_DIR."""
    return Kinetics(cfg.DATA.PATH_TO_DATA_DIR, split, kinetics_options(cfg))


@register_dataset("synthetic")
def build_synthetic(cfg: CfgNode, split: str) -> Dataset:
    """The bundled motion dataset (Kinetics format), generated first when SYNTHETIC.GENERATE is set."""
    if cfg.SYNTHETIC.GENERATE:
        if cfg.SYNTHETIC.NUM_CLASSES != cfg.MODEL.NUM_CLASSES:
            raise ValueError(
                f"SYNTHETIC.NUM_CLASSES={cfg.SYNTHETIC.NUM_CLASSES} differs from "
                f"MODEL.NUM_CLASSES={cfg.MODEL.NUM_CLASSES}; set them equal"
            )
        ensure_synthetic_dataset(
            cfg.DATA.PATH_TO_DATA_DIR,
            num_classes=cfg.SYNTHETIC.NUM_CLASSES,
            clips_per_class=cfg.SYNTHETIC.CLIPS_PER_CLASS,
            num_frames=cfg.SYNTHETIC.NUM_FRAMES,
            size=cfg.SYNTHETIC.SIZE,
            difficulty=cfg.SYNTHETIC.DIFFICULTY,
            seed=cfg.SYNTHETIC.SEED,
        )
    return Kinetics(cfg.DATA.PATH_TO_DATA_DIR, split, kinetics_options(cfg))
