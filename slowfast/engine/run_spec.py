"""The run's spec: the config turned once into typed, frozen sections (``build_run_spec(cfg) -> RunSpec``).

Each section is built, and each of its rules checked, by the module that owns it: the model by
``models/spec.py``, the data by ``datasets/spec.py``, the schedule by ``multigrid/schedule.py``
(``build_schedule``: built once here, the object every user of the run's schedule shares), the
solver by ``solver_spec.py``, the place by ``context.py``, the training run by ``train_spec.py``,
the final test by ``final_test_spec.py``. ``check_sections`` then holds the rules across sections.
Below this module nothing reads the config: the trainer, the tester, the hooks and the launcher
take the spec or its sections. ``config.validation.validate_config`` builds it, so ``load_config``
refuses a bad config with the same one-line errors.
"""
from dataclasses import dataclass

from fvcore.common.config import CfgNode

from slowfast.datasets.spec import DataSpec, data_spec
from slowfast.engine.context import PlaceSpec, place_spec
from slowfast.engine.cross_checks import check_shapes_fit_model
from slowfast.engine.final_test_spec import FinalTestSpec, final_test_spec
from slowfast.engine.solver_spec import SolverSpec, solver_spec
from slowfast.engine.train_spec import TrainSpec, train_spec
from slowfast.models.spec import ModelSpec, model_spec
from slowfast.multigrid.schedule import Schedule, build_schedule
from slowfast.utils.checks import require


@dataclass(frozen=True)
class RunSpec:
    """Everything a run reads of its config, by section; ``config_yaml`` is the user's config
    (``cfg.dump()``), which checkpoints store and resumes compare."""

    model: ModelSpec
    data: DataSpec
    schedule: Schedule  # its values: schedule.spec (ScheduleSpec)
    solver: SolverSpec
    place: PlaceSpec
    train: TrainSpec
    test: FinalTestSpec
    config_yaml: str


def build_run_spec(cfg: CfgNode) -> RunSpec:
    """Every section of ``cfg`` built once, then the checks across sections; ConfigError, in one line
    naming the key and what to do, for the first bad value."""
    spec = RunSpec(
        model=model_spec(cfg),
        schedule=build_schedule(cfg),
        solver=solver_spec(cfg),
        data=data_spec(cfg),
        place=place_spec(cfg),
        train=train_spec(cfg),
        test=final_test_spec(cfg),
        config_yaml=cfg.dump(),
    )
    check_sections(spec)
    return spec


def check_sections(spec: RunSpec) -> None:
    """The rules no section sees alone: the labels against the loss and the model's classes, batches
    that split over the devices, and every clip shape the schedule trains or tests against the model."""
    data, place = spec.data, spec.place
    if data.multi_label:
        require(spec.solver.loss_func == "bce_logit", "DATA.MULTI_LABEL True needs MODEL.LOSS_FUNC bce_logit")
    if data.synthetic is not None:
        classes = data.synthetic.options.num_classes
        require(classes == spec.model.num_classes,
                f"SYNTHETIC.NUM_CLASSES {classes} differs from MODEL.NUM_CLASSES {spec.model.num_classes}; "
                "set them equal")
    for key, value in (("TRAIN.BATCH_SIZE", spec.schedule.spec.batch_size), ("TEST.BATCH_SIZE", spec.test.batch_size)):
        require(value >= 1 and value % place.num_devices == 0,
                f"{key} {value} must be a positive multiple of the number of devices {place.num_devices} "
                f"(NUM_GPUS {place.num_gpus} x NUM_SHARDS {place.num_shards})")
    check_shapes_fit_model(spec.model, spec.schedule.spec, spec.data.options.test_crop_size)
