"""The check across config sections: every clip shape the run trains or tests, against the model.

Each section checks its own keys (``models/spec.py``, ``multigrid/spec.py``, ...). What none of
them sees alone is whether the schedule's shapes fit the model: the long cycle trains fewer
frames than DATA.NUM_FRAMES, the long and short cycles smaller crops than DATA.TRAIN_CROP_SIZE,
and a SlowFast clip of fewer frames than SLOWFAST.ALPHA (or a crop that leaves a non-local
block's pooling window an empty map) would stop the run mid-epoch instead of at load time.
``run_spec.check_sections`` runs it once every section is built.
"""
from collections.abc import Callable
from dataclasses import replace

from slowfast.models.spec import ModelSpec
from slowfast.multigrid.long_cycle import cycle_shapes
from slowfast.multigrid.schedule import make_schedule
from slowfast.multigrid.spec import ScheduleSpec
from slowfast.utils.checks import ConfigError

# How far up a remedy is looked for: DATA.NUM_FRAMES or a crop size up to this many times its value.
_SEARCH_FACTOR = 16


def check_shapes_fit_model(model: ModelSpec, schedule: ScheduleSpec, test_crop_size: int) -> None:
    """Raise ConfigError, in one line naming the keys, their values and what to do, for the first
    clip shape that ``model`` cannot take: the frames of the full shape and of each long-cycle stage
    (against SLOWFAST.ALPHA, the temporal pool after res2, NONLOCAL.GROUP and POOL), then the crops
    of the full shape, of each long- and short-cycle shape and of the test (against the spatial
    strides and NONLOCAL.POOL)."""
    num_frames, crop_size = schedule.num_frames, schedule.crop_size
    problem = model.frames_problem(num_frames)
    if problem:
        raise ConfigError(f"DATA.NUM_FRAMES {num_frames} {problem}")
    for frames, source, switch in _frame_sources(schedule):
        problem = model.frames_problem(frames)
        if problem:
            fix = _smallest_above(num_frames, lambda value: _frames_fit(model, replace(schedule, num_frames=value)))
            raise ConfigError(f"{source}, which {problem}: {_remedy('DATA.NUM_FRAMES', fix, switch)}")
    for crop, source, switch in _crop_sources(schedule):
        problem = model.crop_problem(crop)
        if problem:
            fix = _smallest_above(crop_size, lambda value: _crops_fit(model, replace(schedule, crop_size=value)))
            if switch is None:
                raise ConfigError(f"{source} {problem}: {_remedy('it', fix, None)}")
            raise ConfigError(f"{source}, which {problem}: {_remedy('DATA.TRAIN_CROP_SIZE', fix, switch)}")
    problem = model.crop_problem(test_crop_size)
    if problem:
        fix = _smallest_above(test_crop_size, lambda value: model.crop_problem(value) is None)
        raise ConfigError(f"DATA.TEST_CROP_SIZE {test_crop_size} {problem}: {_remedy('it', fix, None)}")


def _pair(pair: tuple[float, float]) -> str:
    return "[" + ", ".join(f"{factor:g}" for factor in pair) + "]"


def _trained_shapes(schedule: ScheduleSpec) -> set[tuple[int, int]]:
    """(frames, crop) of every phase of every stage the schedule trains."""
    return {(shape.num_frames, shape.crop_size)
            for stage in make_schedule(schedule).stages for shape in stage.short_cycle_shapes}


def _frame_sources(schedule: ScheduleSpec) -> list[tuple[int, str, str]]:
    """Frames of each trained long-cycle shape, with the keys it comes from and the switch that
    turns it off."""
    if not schedule.long_cycle:
        return []
    trained = {frames for frames, _ in _trained_shapes(schedule)}
    return [
        (shape.num_frames,
         f"MULTIGRID.LONG_CYCLE_FACTORS {_pair(pair)} trains {shape.num_frames}-frame clips "
         f"(DATA.NUM_FRAMES {schedule.num_frames} x {pair[0]:g})", "MULTIGRID.LONG_CYCLE")
        for pair, shape in zip(schedule.long_cycle_factors, cycle_shapes(schedule))
        if shape.num_frames in trained
    ]


def _crop_sources(schedule: ScheduleSpec) -> list[tuple[int, str, str | None]]:
    """The full crop, then the crop of each trained long- and short-cycle shape, with the keys it
    comes from and the switch that turns it off (None for the full crop)."""
    crop_size = schedule.crop_size
    sources: list[tuple[int, str, str | None]] = [(crop_size, f"DATA.TRAIN_CROP_SIZE {crop_size}", None)]
    stages = make_schedule(schedule).stages
    trained = {crop for _, crop in _trained_shapes(schedule)}
    if schedule.long_cycle:
        sources += [
            (shape.crop_size,
             f"MULTIGRID.LONG_CYCLE_FACTORS {_pair(pair)} trains {shape.crop_size}-px crops "
             f"(DATA.TRAIN_CROP_SIZE {crop_size} x {pair[1]:g})", "MULTIGRID.LONG_CYCLE")
            for pair, shape in zip(schedule.long_cycle_factors, cycle_shapes(schedule))
        ]
    if schedule.short_cycle:
        # Short-cycle crops are fractions of the full crop, the same in every stage, base shape last.
        sources += [
            (shape.crop_size,
             f"MULTIGRID.SHORT_CYCLE_FACTORS {factor:g} trains {shape.crop_size}-px crops "
             f"(DATA.TRAIN_CROP_SIZE {crop_size} x {factor:g})", "MULTIGRID.SHORT_CYCLE")
            for factor, shape in zip(schedule.short_cycle_factors, stages[0].short_cycle_shapes)
        ]
    return [source for source in sources if source[0] in trained or source[2] is None]


def _frames_fit(model: ModelSpec, schedule: ScheduleSpec) -> bool:
    """Whether the model takes the frames of every shape ``schedule`` trains (the full one included)."""
    frames = {frames for frames, _ in _trained_shapes(schedule)} | {schedule.num_frames}
    return all(model.frames_problem(value) is None for value in frames)


def _crops_fit(model: ModelSpec, schedule: ScheduleSpec) -> bool:
    """Whether the model takes the crop of every shape ``schedule`` trains (the full one included)."""
    crops = {crop for _, crop in _trained_shapes(schedule)} | {schedule.crop_size}
    return all(model.crop_problem(value) is None for value in crops)


def _smallest_above(value: int, fits: Callable[[int], bool]) -> int | None:
    """The smallest value above ``value`` (up to _SEARCH_FACTOR times it) that ``fits``; None if none."""
    for candidate in range(value + 1, value * _SEARCH_FACTOR + 1):
        try:
            if fits(candidate):
                return candidate
        except ValueError:  # another rule of the section refuses the candidate
            continue
    return None


def _remedy(key: str, fix: int | None, switch: str | None) -> str:
    """What to do: raise ``key`` to ``fix`` (when one fits), or turn ``switch`` off."""
    if fix is None:
        change = "change NONLOCAL.LOCATION or NONLOCAL.POOL" if switch is None else f"change {switch}_FACTORS"
        return change if switch is None else f"{change} or turn {switch} off"
    # Frames must meet divisibility rules (a larger value may not fit), crops only a minimum.
    to = f"to {fix}" if key == "DATA.NUM_FRAMES" else f"to at least {fix}"
    return f"raise {key} {to}" if switch is None else f"raise {key} {to} or turn {switch} off"
