"""The options every dataset reads from the config (mapped and checked in ``datasets/spec.py``)."""
from dataclasses import dataclass

from slowfast.multigrid.shape import ClipShape


@dataclass(frozen=True)
class DatasetOptions:
    """Everything a dataset reads, named after the config keys they come from."""

    num_classes: int  # MODEL.NUM_CLASSES
    path_prefix: str = ""  # DATA.PATH_PREFIX
    separator: str = " "  # DATA.PATH_LABEL_SEPARATOR
    num_frames: int = 8  # DATA.NUM_FRAMES
    sampling_rate: int = 8  # DATA.SAMPLING_RATE
    target_fps: float = 30.0  # DATA.TARGET_FPS
    train_jitter_scales: tuple[int, int] = (256, 320)  # DATA.TRAIN_JITTER_SCALES
    train_crop_size: int = 224  # DATA.TRAIN_CROP_SIZE
    test_crop_size: int = 256  # DATA.TEST_CROP_SIZE
    num_ensemble_views: int = 10  # TEST.NUM_ENSEMBLE_VIEWS
    num_spatial_crops: int = 3  # TEST.NUM_SPATIAL_CROPS
    random_flip: bool = True  # DATA.RANDOM_FLIP
    inverse_uniform_scale: bool = False  # DATA.INV_UNIFORM_SAMPLE
    multi_thread_decode: bool = False  # DATA_LOADER.ENABLE_MULTI_THREAD_DECODE
    decoded_cache_gb: float = 0.0  # DATA.DECODED_CACHE_GB
    decoded_cache_dir: str = ""  # DATA.DECODED_CACHE_DIR
    num_workers: int = 0  # DATA_LOADER.NUM_WORKERS: also the processes that fill the decoded cache
    seed: int = 0  # RNG_SEED
    # DATA.MAX_FAILED_SHARE: when set, the listed files are checked to exist as the list is read
    # (listed_files.check_listed_files); None reads the list without looking at the files.
    max_missing_share: float | None = None

    @property
    def full_train_shape(self) -> ClipShape:
        """The baseline training shape, used for plain-int training items (e.g. precise BN)."""
        return ClipShape(
            num_frames=self.num_frames,
            crop_size=self.train_crop_size,
            sampling_rate=(self.sampling_rate, self.sampling_rate),
            jitter_scales=tuple(self.train_jitter_scales),
        )
