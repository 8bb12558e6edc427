"""The full config tree with PySlowFast's key names and defaults.

Every key a part of this project reads is declared here, with a comment. A YAML file or a
``KEY VALUE`` override that names a key missing from this tree is rejected.
"""
from fvcore.common.config import CfgNode

_C = CfgNode()

# ---------------------------------------------------------------------------- #
# Training
# ---------------------------------------------------------------------------- #
_C.TRAIN = CfgNode()
# Whether to run training.
_C.TRAIN.ENABLE = True
# Dataset name used for training (see slowfast/datasets/build.py for the registry).
_C.TRAIN.DATASET = "kinetics"
# Global mini-batch size at the baseline (full) clip shape, summed over all devices and
# machines. Multigrid multiplies it per stage.
_C.TRAIN.BATCH_SIZE = 64
# Evaluate on the val split every this many epochs (baseline schedule).
_C.TRAIN.EVAL_PERIOD = 10
# Save a checkpoint every this many epochs (baseline schedule).
_C.TRAIN.CHECKPOINT_PERIOD = 10
# Also save checkpoints/checkpoint_last.pyth mid-epoch at most every this many minutes (0 = off).
_C.TRAIN.CHECKPOINT_MINUTES = 0.0
# Keep only the newest this many epoch checkpoints (0 = keep all).
_C.TRAIN.CHECKPOINT_KEEP = 0
# Resume from the last checkpoint in OUTPUT_DIR/checkpoints when one exists.
_C.TRAIN.AUTO_RESUME = True
# Checkpoint to initialise the model from when there is nothing to resume ("" = none).
_C.TRAIN.CHECKPOINT_FILE_PATH = ""
# Format of TRAIN.CHECKPOINT_FILE_PATH: "pytorch" (.pyth) or "caffe2" (.pkl).
_C.TRAIN.CHECKPOINT_TYPE = "pytorch"
# Inflate 2D (image) weights into the 3D model when loading TRAIN.CHECKPOINT_FILE_PATH.
_C.TRAIN.CHECKPOINT_INFLATE = False
# Leave the classifier (head.projection) at its initialisation when initialising from
# TRAIN.CHECKPOINT_FILE_PATH, even when the class counts agree (fine-tuning on another dataset);
# with different class counts it is re-initialised anyway.
_C.TRAIN.CHECKPOINT_REINIT_HEAD = False
# The config fine-tunes from pretrained weights (SSv2, Charades: from Kinetics-400): with
# TRAIN.CHECKPOINT_FILE_PATH empty and nothing to resume, a run warns that it trains from scratch.
_C.TRAIN.EXPECT_PRETRAINED = False
# Automatic mixed precision on CUDA (bf16 where supported).
_C.TRAIN.MIXED_PRECISION = False
# Keep conv weights and activations in channels_last_3d (NDHWC) memory format; with bf16 on
# recent GPUs this lets cuDNN use its tensor-core kernels without layout conversions.
_C.TRAIN.CHANNELS_LAST = False
# torch.compile the model: one static graph per training shape of the schedule (the recompile
# limit is sized to it), compiled at the shape's first step; that time is logged per shape and
# counted in the time split's "compile" column, so it is part of the run's wall clock.
_C.TRAIN.COMPILE = False
# What a NaN or infinite loss does: "stop" the run (checked when logged), or "skip" the step
# (checked every iteration, one host sync each) with a warning naming iteration, stage and shape.
_C.TRAIN.NON_FINITE_LOSS = "stop"

# ---------------------------------------------------------------------------- #
# Testing
# ---------------------------------------------------------------------------- #
_C.TEST = CfgNode()
# Whether to run the multi-view test after training (or alone).
_C.TEST.ENABLE = True
# Dataset name used for testing.
_C.TEST.DATASET = "kinetics"
# Global test mini-batch size (clips), over all devices.
_C.TEST.BATCH_SIZE = 8
# Checkpoint to test ("" = the last one in OUTPUT_DIR/checkpoints, then TRAIN.CHECKPOINT_FILE_PATH).
_C.TEST.CHECKPOINT_FILE_PATH = ""
# Test a randomly initialised model when none of those checkpoints exists (e.g. to time the test);
# False stops a test-only run (TRAIN.ENABLE False) that finds no checkpoint before it starts.
_C.TEST.ALLOW_RANDOM_INIT = False
# Number of temporal clips sampled uniformly from each test video.
_C.TEST.NUM_ENSEMBLE_VIEWS = 10
# Number of spatial crops per clip (3 = left/centre/right or top/centre/bottom, 1 = centre).
_C.TEST.NUM_SPATIAL_CROPS = 3
# Format of TEST.CHECKPOINT_FILE_PATH: "pytorch" or "caffe2".
_C.TEST.CHECKPOINT_TYPE = "pytorch"
# If set, the per-video scores and labels are saved to OUTPUT_DIR/<this name> (torch.save).
_C.TEST.SAVE_RESULTS_PATH = ""

# ---------------------------------------------------------------------------- #
# ResNet options
# ---------------------------------------------------------------------------- #
_C.RESNET = CfgNode()
# Transformation of a residual block, at any RESNET.DEPTH: "bottleneck_transform",
# "basic_transform" (PySlowFast's basic blocks: the stage widths of R50, WIDTH_PER_GROUP x 4 x 2^i,
# so its ResNet-18 checkpoints load), or "plain_basic_transform" (ours: the same blocks at plain
# ResNet-18 widths WIDTH_PER_GROUP x 2^i, several times cheaper; used by configs/Synthetic).
_C.RESNET.TRANS_FUNC = "bottleneck_transform"
# Number of groups (1 for ResNet, > 1 for ResNeXt).
_C.RESNET.NUM_GROUPS = 1
# Width of each group (64 for ResNet-50).
_C.RESNET.WIDTH_PER_GROUP = 64
# Apply ReLU in place.
_C.RESNET.INPLACE_RELU = True
# Put the spatial stride on the 1x1 conv of the bottleneck instead of the 3x3.
_C.RESNET.STRIDE_1X1 = False
# Initialise the last BN of each residual branch (and of each non-local block) with zero gamma.
_C.RESNET.ZERO_INIT_FINAL_BN = False
# Initialise the last conv of each residual branch with zeros.
_C.RESNET.ZERO_INIT_FINAL_CONV = False
# Network depth: 18, 50 or 101.
_C.RESNET.DEPTH = 50
# For each stage res2..res5 and each pathway, how many blocks use a temporal kernel > 1.
_C.RESNET.NUM_BLOCK_TEMP_KERNEL = [[3], [4], [6], [3]]
# Spatial stride of each stage res2..res5, per pathway.
_C.RESNET.SPATIAL_STRIDES = [[1], [2], [2], [2]]
# Spatial dilation of each stage res2..res5, per pathway.
_C.RESNET.SPATIAL_DILATIONS = [[1], [1], [1], [1]]

# ---------------------------------------------------------------------------- #
# Non-local options
# ---------------------------------------------------------------------------- #
_C.NONLOCAL = CfgNode()
# Per stage, per pathway: indices of the blocks followed by a non-local block.
_C.NONLOCAL.LOCATION = [[[]], [[]], [[]], [[]]]
# Per stage, per pathway: number of groups the time axis is split into for non-local.
_C.NONLOCAL.GROUP = [[1], [1], [1], [1]]
# Affinity normalisation: "dot_product" or "softmax".
_C.NONLOCAL.INSTANTIATION = "dot_product"
# Per stage, per pathway: max-pool kernel [T, H, W] applied to phi and g.
_C.NONLOCAL.POOL = [[[1, 2, 2], [1, 2, 2]]] * 4

# ---------------------------------------------------------------------------- #
# Model options
# ---------------------------------------------------------------------------- #
_C.MODEL = CfgNode()
# Architecture: "c2d", "i3d", "slow" or "slowfast".
_C.MODEL.ARCH = "slowfast"
# Model class: "SlowFast" (two pathways) or "ResNet" (one pathway).
_C.MODEL.MODEL_NAME = "SlowFast"
# Number of classes to predict.
_C.MODEL.NUM_CLASSES = 400
# Loss: "cross_entropy" (single label) or "bce_logit" (multi-label).
_C.MODEL.LOSS_FUNC = "cross_entropy"
# Dropout rate before the final projection.
_C.MODEL.DROPOUT_RATE = 0.5
# Standard deviation of the normal init of the final projection.
_C.MODEL.FC_INIT_STD = 0.01
# Activation applied to the logits at test time: "softmax" or "sigmoid".
_C.MODEL.HEAD_ACT = "softmax"

# ---------------------------------------------------------------------------- #
# SlowFast options
# ---------------------------------------------------------------------------- #
_C.SLOWFAST = CfgNode()
# Channel ratio between the slow and the fast pathway (beta^-1).
_C.SLOWFAST.BETA_INV = 8
# Frame-rate ratio between the fast and the slow pathway (alpha).
_C.SLOWFAST.ALPHA = 8
# Channel ratio of the fast-to-slow lateral convolution.
_C.SLOWFAST.FUSION_CONV_CHANNEL_RATIO = 2
# Temporal kernel of the fast-to-slow lateral convolution.
_C.SLOWFAST.FUSION_KERNEL_SZ = 5

# ---------------------------------------------------------------------------- #
# Data options
# ---------------------------------------------------------------------------- #
_C.DATA = CfgNode()
# Folder with {train,val,test}.csv.
_C.DATA.PATH_TO_DATA_DIR = ""
# Prefix joined to every video path of the CSVs.
_C.DATA.PATH_PREFIX = ""
# Separator between path and label in the CSVs.
_C.DATA.PATH_LABEL_SEPARATOR = " "
# Number of frames per clip at the full (baseline) shape; the fast pathway's for SlowFast.
_C.DATA.NUM_FRAMES = 8
# Temporal stride between sampled frames, in frames at DATA.TARGET_FPS.
_C.DATA.SAMPLING_RATE = 8
# Per-channel mean and std (RGB, on [0, 1] pixels).
_C.DATA.MEAN = [0.45, 0.45, 0.45]
_C.DATA.STD = [0.225, 0.225, 0.225]
# Input channels per pathway.
_C.DATA.INPUT_CHANNEL_NUM = [3, 3]
# Range [min, max] of the random short-side size used before the training crop.
_C.DATA.TRAIN_JITTER_SCALES = [256, 320]
# Training crop size (square) at the full shape.
_C.DATA.TRAIN_CROP_SIZE = 224
# Test crop size; the short side is resized to it before the spatial crops.
_C.DATA.TEST_CROP_SIZE = 256
# Frame rate the sampling rate refers to.
_C.DATA.TARGET_FPS = 30
# Video decoding backend: "pyav".
_C.DATA.DECODING_BACKEND = "pyav"
# Draw the jitter scale as 1/U(1/max, 1/min) instead of U(min, max).
_C.DATA.INV_UNIFORM_SAMPLE = False
# Random horizontal flip during training.
_C.DATA.RANDOM_FLIP = True
# Multi-label targets (Charades).
_C.DATA.MULTI_LABEL = False
# How test views of one video are combined: "sum" or "max".
_C.DATA.ENSEMBLE_METHOD = "sum"
# Reverse the channel order (BGR frames to RGB).
_C.DATA.REVERSE_INPUT_CHANNEL = False
# Largest share of the training clips of an epoch so far that may come from replacement videos
# (their own failed to decode) before the run stops (0..1); judged once the epoch has drawn 256
# clips, or all of it when shorter.
_C.DATA.MAX_FAILED_SHARE = 0.5
# Decode each split's videos once, before training, into memory (shared by the loader workers)
# up to this many GB per split; clips are then cut from memory, so a small multigrid shape costs
# its frames rather than a decode. 0 turns it off. Videos past the budget decode from file.
# Kinetics-format lists only (kinetics, synthetic).
_C.DATA.DECODED_CACHE_GB = 0.0
# Keep the decoded frames of DATA.DECODED_CACHE_GB on disk in this folder (one file per data
# folder and split, mapped into memory), so later runs skip the decode; rewritten when the list,
# a video or the budget changes. Empty: decode into memory at the start of every run.
_C.DATA.DECODED_CACHE_DIR = ""

# ---------------------------------------------------------------------------- #
# Bundled synthetic dataset (generated on first use when DATA.PATH_TO_DATA_DIR is empty)
# ---------------------------------------------------------------------------- #
_C.SYNTHETIC = CfgNode()
# Generate the dataset into DATA.PATH_TO_DATA_DIR when that folder has no train.csv.
_C.SYNTHETIC.GENERATE = False
# Number of motion classes.
_C.SYNTHETIC.NUM_CLASSES = 8
# Videos per class in the train split (val gets a quarter, at least 2; test too unless TEST_CLIPS_PER_CLASS).
_C.SYNTHETIC.CLIPS_PER_CLASS = 24
# Frames per video.
_C.SYNTHETIC.NUM_FRAMES = 48
# Frame size (height = width).
_C.SYNTHETIC.SIZE = 64
# Difficulty 0 (clean) to 3 (heavy noise, distractors, slow motion).
_C.SYNTHETIC.DIFFICULTY = 1
# Generator seed.
_C.SYNTHETIC.SEED = 0
# Videos per class in the test split of the Kinetics layout (0: a quarter of CLIPS_PER_CLASS, at
# least 2, as val). A larger test set narrows the standard error of a test accuracy.
_C.SYNTHETIC.TEST_CLIPS_PER_CLASS = 0

# ---------------------------------------------------------------------------- #
# Batch norm options
# ---------------------------------------------------------------------------- #
_C.BN = CfgNode()
# Recompute BN statistics over NUM_BATCHES_PRECISE training batches before eval/checkpoint.
_C.BN.USE_PRECISE_STATS = False
# Number of batches for precise BN.
_C.BN.NUM_BATCHES_PRECISE = 200
# Weight decay of BN parameters.
_C.BN.WEIGHT_DECAY = 0.0
# Norm type: "batchnorm" (statistics over groups of MULTIGRID.BN_BASE_SIZE clips under multigrid).
_C.BN.NORM_TYPE = "batchnorm"

# ---------------------------------------------------------------------------- #
# Optimizer options
# ---------------------------------------------------------------------------- #
_C.SOLVER = CfgNode()
# Base learning rate (for TRAIN.BATCH_SIZE at the full shape).
_C.SOLVER.BASE_LR = 0.1
# Learning-rate policy: "cosine" or "steps_with_relative_lrs".
_C.SOLVER.LR_POLICY = "cosine"
# Final learning rate of the cosine policy.
_C.SOLVER.COSINE_END_LR = 0.0
# Run the cosine over [WARMUP_EPOCHS, MAX_EPOCH] instead of [0, MAX_EPOCH].
_C.SOLVER.COSINE_AFTER_WARMUP = False
# Epochs where the LR stages start (steps_with_relative_lrs); STEPS[0] = 0.
_C.SOLVER.STEPS = []
# LR of each stage, relative to BASE_LR.
_C.SOLVER.LRS = []
# Number of training epochs.
_C.SOLVER.MAX_EPOCH = 300
# SGD momentum, dampening, Nesterov.
_C.SOLVER.MOMENTUM = 0.9
_C.SOLVER.DAMPENING = 0.0
_C.SOLVER.NESTEROV = True
# L2 weight decay of non-BN parameters.
_C.SOLVER.WEIGHT_DECAY = 1e-4
# Linear warmup length in epochs and its start LR.
_C.SOLVER.WARMUP_EPOCHS = 0.0
_C.SOLVER.WARMUP_START_LR = 0.01
# Optimizer: "sgd".
_C.SOLVER.OPTIMIZING_METHOD = "sgd"

# ---------------------------------------------------------------------------- #
# Multigrid training
# ---------------------------------------------------------------------------- #
_C.MULTIGRID = CfgNode()
# Multigrid trains EPOCH_FACTOR x the baseline epochs (with fewer iterations).
_C.MULTIGRID.EPOCH_FACTOR = 1.5
# Short cycle: the crop changes every iteration.
_C.MULTIGRID.SHORT_CYCLE = False
# Spatial factors (of DATA.TRAIN_CROP_SIZE) of the two extra short-cycle shapes.
_C.MULTIGRID.SHORT_CYCLE_FACTORS = [0.5, 0.5 ** 0.5]
# Long cycle: (frames, crop) change every few epochs.
_C.MULTIGRID.LONG_CYCLE = False
# (temporal, spatial) factors of the long-cycle base shapes, smallest first.
_C.MULTIGRID.LONG_CYCLE_FACTORS = [
    (0.25, 0.5 ** 0.5),
    (0.5, 0.5 ** 0.5),
    (0.5, 1),
    (1, 1),
]
# Number of clips BN statistics are computed over at the full shape.
_C.MULTIGRID.BN_BASE_SIZE = 8
# "clips": every statistic covers BN_BASE_SIZE clips whatever the shape (PySlowFast). "values":
# the group grows with the shape's batch (BN_BASE_SIZE x batch / TRAIN.BATCH_SIZE clips), so a
# statistic covers as many values (clips x T x H x W) at every shape as at the full one.
_C.MULTIGRID.BN_GROUPING = "clips"
# Evaluations and checkpoints per long-cycle stage.
_C.MULTIGRID.EVAL_FREQ = 3
# Which ends of DATA.TRAIN_JITTER_SCALES shrink with a multigrid crop smaller than
# DATA.TRAIN_CROP_SIZE: "min" (PySlowFast: the lower end only, so a smaller crop may also see a
# smaller share of the frame) or "min_max" (both ends, so every crop sees the share of the frame
# the full crop sees, at a lower resolution).
_C.MULTIGRID.JITTER_SCALING = "min"

# ---------------------------------------------------------------------------- #
# Data loader options
# ---------------------------------------------------------------------------- #
_C.DATA_LOADER = CfgNode()
# Worker processes per device.
_C.DATA_LOADER.NUM_WORKERS = 8
# Pin host memory (CUDA only).
_C.DATA_LOADER.PIN_MEMORY = True
# Let PyAV decode with several threads.
_C.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE = False

# ---------------------------------------------------------------------------- #
# TensorBoard
# ---------------------------------------------------------------------------- #
_C.TENSORBOARD = CfgNode()
# Write TensorBoard scalars.
_C.TENSORBOARD.ENABLE = False
# Folder under OUTPUT_DIR ("" = runs-<TRAIN.DATASET>).
_C.TENSORBOARD.LOG_DIR = ""

# ---------------------------------------------------------------------------- #
# Misc
# ---------------------------------------------------------------------------- #
# Devices per machine (0 = CPU).
_C.NUM_GPUS = 1
# Number of machines and the index of this one.
_C.NUM_SHARDS = 1
_C.SHARD_ID = 0
# Where logs, checkpoints and the run's config go (config.yaml when it trains, else config_test.yaml).
_C.OUTPUT_DIR = "./tmp"
# Seed of every random generator.
_C.RNG_SEED = 1
# Log training statistics every this many iterations.
_C.LOG_PERIOD = 10
# Log parameter count and GFLOPs per clip at start.
_C.LOG_MODEL_INFO = True

# Keys that nothing here reads but that PySlowFast configs, or config.yaml files dumped by an
# earlier release of this code, can hold; each with the values that ask for nothing we do not do
# (its default there, which every such dump holds): those load with a one-line warning, any
# other value stops with the note instead of "unknown key".
RETIRED_KEYS: dict[str, tuple[tuple, str]] = {
    "TRAIN.CHECKPOINT_EPOCH_RESET": (
        (False, True),
        "weights from TRAIN.CHECKPOINT_FILE_PATH always start at epoch 0 (only OUTPUT_DIR's "
        "own checkpoints resume); remove the key",
    ),
    "DIST_BACKEND": (
        ("nccl",),
        "the backend follows the device: nccl on GPUs, gloo on the CPU (NUM_GPUS 0); "
        "remove the key",
    ),
    "MODEL.SINGLE_PATHWAY_ARCH": (
        (["c2d", "i3d", "slow"],),
        "the architectures come from the model registry (slowfast/models/build.py); "
        "remove the key",
    ),
    "MODEL.MULTI_PATHWAY_ARCH": (
        (["slowfast"],),
        "the architectures come from the model registry (slowfast/models/build.py); "
        "remove the key",
    ),
    "SOLVER.GAMMA": (
        (0.1,),
        "the relative LR of each LR stage comes from SOLVER.LRS (PySlowFast's multigrid takes "
        "GAMMA**i, the same as LRS [1, 0.1, 0.01, ...]); set SOLVER.LRS and remove the key",
    ),
}

def get_defaults() -> CfgNode:
    """A fresh, mutable copy of the default config."""
    return _C.clone()
