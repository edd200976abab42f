"""Train sections, as one import: the names of the train stage's check side.

The code lives in `slimlang.training` (records in `spec`, value types in
`argtypes`, the settings table in `settings` and `kinds/`, checking in
`check`, data paths in `datapaths`, the checker's hook in `section`, docs in
`reference`, codes in `codes`); this module gathers what the checker, the
commands and users' programs import from here.  Pure Python: no TensorFlow.
"""

from __future__ import annotations

from .training.check import (
    INVALID,
    build_spec,
    check_train_section,
    model_sig,
    with_overrides,
)
from .training.codes import ERROR_CODES
from .training.datapaths import (
    check_data_fits,
    check_data_path,
    check_data_paths,
    csv_columns,
    csv_header,
    csv_read_error,
    declared_input_error,
    input_shape_after,
    npz_array_names,
    npz_array_shape,
)
from .training.kinds.base import REQUIRED, Arg, Kind
from .training.kinds.data import DATA_KINDS
from .training.kinds.losses import LOSS_KINDS
from .training.kinds.optimizers import OPTIMIZERS
from .training.kinds.schedules import SCHEDULES
from .training.reference import reference_markdown
from .training.section import check_program_trains
from .training.settings import TRAIN_SETTINGS, SettingDef
from .training.spec import (
    DataSpec,
    InitSpec,
    LossSpec,
    ModelRef,
    ModelSig,
    OptimizerSpec,
    ScheduleSpec,
    Setting,
    TrainSpec,
    setting,
)

__all__ = [
    "DATA_KINDS", "ERROR_CODES", "INVALID", "LOSS_KINDS", "OPTIMIZERS", "REQUIRED", "SCHEDULES", "TRAIN_SETTINGS",
    "Arg", "DataSpec", "InitSpec", "Kind", "LossSpec", "ModelRef", "ModelSig", "OptimizerSpec", "ScheduleSpec",
    "Setting", "SettingDef", "TrainSpec", "build_spec", "check_data_fits", "check_data_path", "check_data_paths",
    "check_program_trains", "check_train_section", "csv_columns", "csv_header", "csv_read_error",
    "declared_input_error", "input_shape_after", "model_sig", "npz_array_names", "npz_array_shape",
    "reference_markdown", "setting", "with_overrides",
]

if __name__ == "__main__":  # pragma: no cover - docs helper, as `python -m slimlang.training.reference`
    print(reference_markdown(), end="")
