"""The data section of the config, read and checked once: ``data_spec(cfg) -> DataSpec``.

Every rule on the DATA, DATA_LOADER and SYNTHETIC keys, TRAIN/TEST.DATASET and the test's views
(TEST.NUM_ENSEMBLE_VIEWS, NUM_SPATIAL_CROPS) lives here and nowhere else, but for the keys another
section owns: DATA.NUM_FRAMES, TRAIN_CROP_SIZE, SAMPLING_RATE and the form of TRAIN_JITTER_SCALES
(``multigrid/spec.py``, built before this one by config validation) and DATA.INPUT_CHANNEL_NUM
(``models/spec.py``). The generator's own options are checked by ``SyntheticOptions``, and whether
a dataset name is registered by ``build_dataset``, which holds the registry.
"""
from dataclasses import dataclass

from fvcore.common.config import CfgNode

from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.synthetic import SyntheticOptions
from slowfast.utils.checks import at_least, one_of, require

ENSEMBLE_METHODS = ("sum", "max")
DECODING_BACKENDS = ("pyav",)
SPATIAL_CROPS = (1, 3)  # test crops per temporal view: the centre, or left/centre/right (top/centre/bottom)
# Datasets read from Kinetics-format lists (the decoded cache caches their videos).
KINETICS_FORMAT = ("kinetics", "synthetic")
# Datasets whose labels are of one kind: DATA.MULTI_LABEL must say the same.
MULTI_LABEL_DATASETS = {"ssv2": False, "charades": True}
# TRAIN.DATASET -> the file layout SYNTHETIC.GENERATE writes for it.
SYNTHETIC_LAYOUTS = {"kinetics": "kinetics", "synthetic": "kinetics", "ssv2": "ssv2", "charades": "charades"}


@dataclass(frozen=True)
class SyntheticSpec:
    """The bundled dataset to generate into DATA.PATH_TO_DATA_DIR (SYNTHETIC.GENERATE True)."""

    layout: str  # kinetics, ssv2 or charades: the files TRAIN.DATASET reads
    options: SyntheticOptions  # SYNTHETIC.NUM_CLASSES, CLIPS_PER_CLASS, ... , TEST_CLIPS_PER_CLASS


@dataclass(frozen=True)
class DataSpec:
    """What ``build_dataset``, the loaders and the input preparation need, in checked plain values;
    field comments name the keys."""

    train_dataset: str  # TRAIN.DATASET (train and val splits), as written
    test_dataset: str  # TEST.DATASET (test split), as written
    path_to_data_dir: str  # DATA.PATH_TO_DATA_DIR
    options: DatasetOptions  # what every dataset reads (DATA.*, TEST views, loader workers, RNG_SEED)
    multi_label: bool = False  # DATA.MULTI_LABEL
    ensemble_method: str = "sum"  # DATA.ENSEMBLE_METHOD
    mean: tuple[float, float, float] = (0.45, 0.45, 0.45)  # DATA.MEAN
    std: tuple[float, float, float] = (0.225, 0.225, 0.225)  # DATA.STD
    reverse_input_channel: bool = False  # DATA.REVERSE_INPUT_CHANNEL
    pin_memory: bool = True  # DATA_LOADER.PIN_MEMORY (CUDA only)
    synthetic: SyntheticSpec | None = None  # SYNTHETIC.*; None when SYNTHETIC.GENERATE is False

    @property
    def num_workers(self) -> int:
        """DATA_LOADER.NUM_WORKERS: loader processes per device (and those that fill the decoded cache)."""
        return self.options.num_workers

    def dataset(self, split: str) -> str:
        """The dataset name ``split`` reads: TEST.DATASET for "test", TRAIN.DATASET for the others."""
        return self.test_dataset if split == "test" else self.train_dataset


def data_spec(cfg: CfgNode) -> DataSpec:
    """The data section, each rule checked once; ConfigError naming the key for the first bad value."""
    _check_labels(cfg)
    _check_clips(cfg)
    _check_loading(cfg)
    data = cfg.DATA
    return DataSpec(
        train_dataset=cfg.TRAIN.DATASET,
        test_dataset=cfg.TEST.DATASET,
        path_to_data_dir=data.PATH_TO_DATA_DIR,
        options=_dataset_options(cfg),
        multi_label=data.MULTI_LABEL,
        ensemble_method=data.ENSEMBLE_METHOD,
        mean=tuple(data.MEAN),
        std=tuple(data.STD),
        reverse_input_channel=data.REVERSE_INPUT_CHANNEL,
        pin_memory=cfg.DATA_LOADER.PIN_MEMORY,
        synthetic=_synthetic_spec(cfg) if cfg.SYNTHETIC.GENERATE else None,
    )


def _check_labels(cfg: CfgNode) -> None:
    """DATA.MULTI_LABEL against the datasets' label kinds; how test views combine. (Against the loss:
    ``engine/run_spec.check_sections``.)"""
    multi_label = cfg.DATA.MULTI_LABEL
    for key, name in (("TRAIN.DATASET", cfg.TRAIN.DATASET), ("TEST.DATASET", cfg.TEST.DATASET)):
        kind = MULTI_LABEL_DATASETS.get(name.lower())
        if kind is True:
            require(multi_label, f"{key} {name} is multi-label; set DATA.MULTI_LABEL True, "
                                 "MODEL.LOSS_FUNC bce_logit and MODEL.HEAD_ACT sigmoid")
        elif kind is False:
            require(not multi_label, f"{key} {name} is single-label; set DATA.MULTI_LABEL False")
    one_of(cfg.DATA.ENSEMBLE_METHOD, ENSEMBLE_METHODS, "DATA.ENSEMBLE_METHOD")


def _check_clips(cfg: CfgNode) -> None:
    """What a clip is cut and normalised with, and the test's views."""
    data = cfg.DATA
    # The form of DATA.TRAIN_JITTER_SCALES is the schedule spec's rule, checked before this one.
    lo = data.TRAIN_JITTER_SCALES[0]
    require(data.TRAIN_CROP_SIZE <= lo,
            f"DATA.TRAIN_CROP_SIZE {data.TRAIN_CROP_SIZE} is larger than the smallest jitter scale "
            f"DATA.TRAIN_JITTER_SCALES[0] {lo}; lower the crop or raise the scale")
    require(len(data.MEAN) == 3 and len(data.STD) == 3 and min(data.STD) > 0,
            f"DATA.MEAN and DATA.STD need 3 values each (STD > 0), got {data.MEAN}, {data.STD}")
    one_of(data.DECODING_BACKEND, DECODING_BACKENDS, "DATA.DECODING_BACKEND")
    one_of(cfg.TEST.NUM_SPATIAL_CROPS, SPATIAL_CROPS, "TEST.NUM_SPATIAL_CROPS")
    at_least(cfg.TEST.NUM_ENSEMBLE_VIEWS, 1, "TEST.NUM_ENSEMBLE_VIEWS")


def _check_loading(cfg: CfgNode) -> None:
    """Missing videos, the decoded cache and the loader's workers."""
    data = cfg.DATA
    require(0.0 <= data.MAX_FAILED_SHARE <= 1.0,
            f"DATA.MAX_FAILED_SHARE must be in [0, 1], got {data.MAX_FAILED_SHARE}")
    require(data.DECODED_CACHE_GB >= 0,
            f"DATA.DECODED_CACHE_GB must be >= 0 (0 turns the cache off), got {data.DECODED_CACHE_GB}")
    require(data.DECODED_CACHE_GB == 0 or cfg.TRAIN.DATASET.lower() in KINETICS_FORMAT,
            f"DATA.DECODED_CACHE_GB caches decoded videos of kinetics-format lists; TRAIN.DATASET is "
            f"{cfg.TRAIN.DATASET!r}: set DATA.DECODED_CACHE_GB 0")
    require(not data.DECODED_CACHE_DIR or data.DECODED_CACHE_GB > 0,
            f"DATA.DECODED_CACHE_DIR {data.DECODED_CACHE_DIR!r} keeps the decoded cache, which is off "
            f"(DATA.DECODED_CACHE_GB 0): set DATA.DECODED_CACHE_GB above 0 or DATA.DECODED_CACHE_DIR ''")
    require(cfg.DATA_LOADER.NUM_WORKERS >= 0,
            f"DATA_LOADER.NUM_WORKERS must be >= 0, got {cfg.DATA_LOADER.NUM_WORKERS}")


def _dataset_options(cfg: CfgNode) -> DatasetOptions:
    """Dataset options from the DATA, TEST, MODEL and DATA_LOADER keys (checked by the caller)."""
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


def _synthetic_spec(cfg: CfgNode) -> SyntheticSpec:
    """The generator's options (checked by ``SyntheticOptions``) and the layout TRAIN.DATASET reads."""
    synthetic, dataset = cfg.SYNTHETIC, cfg.TRAIN.DATASET
    options = SyntheticOptions(
        num_classes=synthetic.NUM_CLASSES,
        clips_per_class=synthetic.CLIPS_PER_CLASS,
        num_frames=synthetic.NUM_FRAMES,
        size=synthetic.SIZE,
        difficulty=synthetic.DIFFICULTY,
        seed=synthetic.SEED,
        test_clips_per_class=synthetic.TEST_CLIPS_PER_CLASS,
    )
    one_of(dataset.lower(), tuple(SYNTHETIC_LAYOUTS), "TRAIN.DATASET (with SYNTHETIC.GENERATE True)")
    layout = SYNTHETIC_LAYOUTS[dataset.lower()]
    require(options.test_clips_per_class == 0 or layout == "kinetics",
            f"SYNTHETIC.TEST_CLIPS_PER_CLASS sizes the test split of the Kinetics layout only; TRAIN.DATASET "
            f"{dataset!r} has no test split of its own: set it to 0")
    return SyntheticSpec(layout=layout, options=options)
