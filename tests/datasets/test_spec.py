"""The data spec: the config's data keys read once, each rule in one place with one message."""
import pytest

from slowfast.config import ConfigError, get_cfg, load_config, merge_overrides
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.spec import DataSpec, SyntheticSpec, data_spec
from slowfast.datasets.synthetic import SyntheticOptions

# A one-pathway model, so that the defaults load; the rules below are each broken alone on top.
BASE = ["NUM_GPUS", "1", "MODEL.ARCH", "i3d", "MODEL.MODEL_NAME", "ResNet"]
GENERATE = ["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4", "MODEL.NUM_CLASSES", "4"]


def tiny_cfg():
    cfg = get_cfg()
    merge_overrides(cfg, BASE)
    cfg.TRAIN.DATASET, cfg.TEST.DATASET = "Kinetics", "synthetic"
    cfg.DATA.PATH_TO_DATA_DIR, cfg.DATA.PATH_PREFIX, cfg.DATA.PATH_LABEL_SEPARATOR = "/data/k", "/videos", ","
    cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, cfg.DATA.TARGET_FPS = 4, 2, 15
    cfg.DATA.TRAIN_JITTER_SCALES, cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.TEST_CROP_SIZE = [40, 48], 32, 36
    cfg.DATA.MEAN, cfg.DATA.STD = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    cfg.DATA.RANDOM_FLIP, cfg.DATA.INV_UNIFORM_SAMPLE, cfg.DATA.REVERSE_INPUT_CHANNEL = False, True, True
    cfg.DATA.ENSEMBLE_METHOD, cfg.DATA.MAX_FAILED_SHARE = "max", 0.25
    cfg.DATA.DECODED_CACHE_GB, cfg.DATA.DECODED_CACHE_DIR = 0.5, "/cache"
    cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.TEST.NUM_SPATIAL_CROPS = 2, 1
    cfg.DATA_LOADER.NUM_WORKERS, cfg.DATA_LOADER.PIN_MEMORY, cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE = 3, False, True
    cfg.MODEL.NUM_CLASSES, cfg.RNG_SEED = 5, 7
    return cfg


def test_the_spec_holds_the_config_values():
    options = DatasetOptions(
        num_classes=5, path_prefix="/videos", separator=",", num_frames=4, sampling_rate=2, target_fps=15,
        train_jitter_scales=(40, 48), train_crop_size=32, test_crop_size=36, num_ensemble_views=2,
        num_spatial_crops=1, random_flip=False, inverse_uniform_scale=True, multi_thread_decode=True,
        decoded_cache_gb=0.5, decoded_cache_dir="/cache", num_workers=3, seed=7, max_missing_share=0.25,
    )
    assert data_spec(tiny_cfg()) == DataSpec(
        train_dataset="Kinetics", test_dataset="synthetic", path_to_data_dir="/data/k", options=options,
        multi_label=False, ensemble_method="max", mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3),
        reverse_input_channel=True, pin_memory=False, synthetic=None,
    )


def test_splits_read_their_dataset_and_the_workers_come_from_the_loader_key():
    spec = data_spec(tiny_cfg())
    assert [spec.dataset(split) for split in ("train", "val", "test")] == ["Kinetics", "Kinetics", "synthetic"]
    assert spec.num_workers == 3


@pytest.mark.parametrize("dataset, layout", [("kinetics", "kinetics"), ("Synthetic", "kinetics"),
                                             ("ssv2", "ssv2"), ("charades", "charades")])
def test_synthetic_generation_writes_the_layout_train_dataset_reads(dataset, layout):
    cfg = tiny_cfg()
    merge_overrides(cfg, GENERATE + ["TRAIN.DATASET", dataset, "SYNTHETIC.SIZE", "32", "SYNTHETIC.SEED", "3",
                                     "DATA.DECODED_CACHE_GB", "0.0", "DATA.DECODED_CACHE_DIR", ""])
    if dataset == "charades":
        merge_overrides(cfg, ["DATA.MULTI_LABEL", "True", "MODEL.LOSS_FUNC", "bce_logit"])
    assert data_spec(cfg).synthetic == SyntheticSpec(
        layout=layout, options=SyntheticOptions(num_classes=4, clips_per_class=24, num_frames=48, size=32,
                                                difficulty=1, seed=3, test_clips_per_class=0))


def test_synthetic_keys_are_neither_read_nor_checked_without_generate():
    cfg = tiny_cfg()
    merge_overrides(cfg, ["SYNTHETIC.NUM_CLASSES", "40", "SYNTHETIC.SIZE", "15"])
    assert data_spec(cfg).synthetic is None


@pytest.mark.parametrize("overrides", [
    ["DATA.MULTI_LABEL", "True", "MODEL.LOSS_FUNC", "bce_logit", "TEST.DATASET", "charades"],
    ["TRAIN.DATASET", "SSV2", "TEST.DATASET", "kinetics"],
    ["TRAIN.DATASET", "my_dataset"],  # registered or not: build_dataset says
])
def test_datasets_of_either_label_kind_pass_with_the_matching_keys(overrides):
    cfg = tiny_cfg()
    merge_overrides(cfg, overrides + ["DATA.DECODED_CACHE_GB", "0.0", "DATA.DECODED_CACHE_DIR", ""])
    assert data_spec(cfg).multi_label == ("DATA.MULTI_LABEL" in overrides)


RULES = [
    (["TRAIN.DATASET", "charades"],
     "TRAIN.DATASET charades is multi-label; set DATA.MULTI_LABEL True, MODEL.LOSS_FUNC bce_logit and "
     "MODEL.HEAD_ACT sigmoid"),
    (["DATA.MULTI_LABEL", "True", "MODEL.LOSS_FUNC", "bce_logit", "TEST.DATASET", "ssv2"],
     "TEST.DATASET ssv2 is single-label; set DATA.MULTI_LABEL False"),
    (["DATA.ENSEMBLE_METHOD", "mean"], "DATA.ENSEMBLE_METHOD is 'mean'; expected one of ['sum', 'max']"),
    (["DATA.TRAIN_CROP_SIZE", "300"],
     "DATA.TRAIN_CROP_SIZE 300 is larger than the smallest jitter scale DATA.TRAIN_JITTER_SCALES[0] 256; "
     "lower the crop or raise the scale"),
    (["DATA.STD", "[0.225, 0.0, 0.225]"],
     "DATA.MEAN and DATA.STD need 3 values each (STD > 0), got [0.45, 0.45, 0.45], [0.225, 0.0, 0.225]"),
    (["DATA.MEAN", "[0.45]"],
     "DATA.MEAN and DATA.STD need 3 values each (STD > 0), got [0.45], [0.225, 0.225, 0.225]"),
    (["DATA.DECODING_BACKEND", "torchvision"], "DATA.DECODING_BACKEND is 'torchvision'; expected one of ['pyav']"),
    (["TEST.NUM_SPATIAL_CROPS", "2"], "TEST.NUM_SPATIAL_CROPS is 2; expected one of [1, 3]"),
    (["TEST.NUM_ENSEMBLE_VIEWS", "0"], "TEST.NUM_ENSEMBLE_VIEWS must be >= 1, got 0"),
    (["DATA.MAX_FAILED_SHARE", "1.5"], "DATA.MAX_FAILED_SHARE must be in [0, 1], got 1.5"),
    (["DATA.DECODED_CACHE_GB", "-1"], "DATA.DECODED_CACHE_GB must be >= 0 (0 turns the cache off), got -1.0"),
    (["DATA.DECODED_CACHE_GB", "1", "TRAIN.DATASET", "ssv2"],
     "DATA.DECODED_CACHE_GB caches decoded videos of kinetics-format lists; TRAIN.DATASET is 'ssv2': "
     "set DATA.DECODED_CACHE_GB 0"),
    (["DATA.DECODED_CACHE_DIR", "frames"],
     "DATA.DECODED_CACHE_DIR 'frames' keeps the decoded cache, which is off (DATA.DECODED_CACHE_GB 0): "
     "set DATA.DECODED_CACHE_GB above 0 or DATA.DECODED_CACHE_DIR ''"),
    (["DATA_LOADER.NUM_WORKERS", "-1"], "DATA_LOADER.NUM_WORKERS must be >= 0, got -1"),
    (GENERATE + ["SYNTHETIC.NUM_CLASSES", "17", "MODEL.NUM_CLASSES", "17"],
     "SYNTHETIC.NUM_CLASSES must be in [1, 16], got 17"),
    (GENERATE + ["SYNTHETIC.CLIPS_PER_CLASS", "0"], "SYNTHETIC.CLIPS_PER_CLASS must be >= 1, got 0"),
    (GENERATE + ["SYNTHETIC.TEST_CLIPS_PER_CLASS", "-1"], "SYNTHETIC.TEST_CLIPS_PER_CLASS must be >= 0, got -1"),
    (GENERATE + ["SYNTHETIC.NUM_FRAMES", "1"], "SYNTHETIC.NUM_FRAMES must be >= 2, got 1"),
    (GENERATE + ["SYNTHETIC.SIZE", "15"], "SYNTHETIC.SIZE must be even and >= 16, got 15"),
    (GENERATE + ["SYNTHETIC.DIFFICULTY", "4"], "SYNTHETIC.DIFFICULTY is 4; expected one of [0, 1, 2, 3]"),
    (GENERATE + ["TRAIN.DATASET", "ava"],
     "TRAIN.DATASET (with SYNTHETIC.GENERATE True) is 'ava'; expected one of "
     "['kinetics', 'synthetic', 'ssv2', 'charades']"),
    (GENERATE + ["TRAIN.DATASET", "ssv2", "SYNTHETIC.TEST_CLIPS_PER_CLASS", "5"],
     "SYNTHETIC.TEST_CLIPS_PER_CLASS sizes the test split of the Kinetics layout only; TRAIN.DATASET 'ssv2' "
     "has no test split of its own: set it to 0"),
]


@pytest.mark.parametrize("overrides, message", RULES)
def test_each_rule_stops_the_spec_and_the_load_with_the_same_line(overrides, message):
    cfg = get_cfg()
    merge_overrides(cfg, BASE + overrides)
    with pytest.raises(ConfigError) as built:
        data_spec(cfg)
    assert str(built.value) == message
    with pytest.raises(ConfigError) as loaded:
        load_config(None, BASE + overrides)
    assert str(loaded.value) == message
