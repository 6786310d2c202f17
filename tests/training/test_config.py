"""TrainConfig: every setting checked once, with a message naming the option."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from pgm_ar.errors import PgmArError
from pgm_ar.training import LRSchedule, OptimizerKind, TrainConfig


def test_defaults_and_normalisation():
    cfg = TrainConfig(device="CPU", optimizer="AdamW", lr_schedule=" Exponential ", epochs=9)
    assert cfg.device == torch.device("cpu") and cfg.optimizer is OptimizerKind.ADAMW
    assert cfg.lr_schedule is LRSchedule.EXPONENTIAL and cfg.lr_step_size == 3
    assert TrainConfig(lr_schedule="none").lr_schedule is None
    assert TrainConfig(lr_schedule=None, device="cpu").trajectory(4)["epochs"] is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.replace(lr=0.5).lr == 0.5 and cfg.lr == 1e-3


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 1.5}, "epochs=1.5: must be a non-negative integer"),
    ({"batch_size": True}, "batch_size=True: must be a positive integer"),
    ({"lr": float("nan")}, "lr=nan: must be a positive number"),
    ({"weight_decay": -1}, "weight_decay=-1: must be a non-negative number"),
    ({"max_grad_norm": 0}, "max_grad_norm=0: must be a positive number"),
    ({"early_stopping_patience": 0}, "early_stopping_patience=0: must be a positive integer "
                                     "or None"),
    ({"val_batch_size": -2}, "val_batch_size=-2"),
    ({"num_workers": -1}, "num_workers=-1: must be a non-negative integer"),
    ({"amp": "yes"}, "amp='yes': must be True or False"),
    ({"preload": 1.0}, "preload=1.0: must be True, False or None"),
    ({"distributed": "maybe"}, "distributed='maybe': use 'auto', True or False"),
    ({"seed": 1.5}, "seed=1.5: must be an integer, a torch.Generator or None"),
    ({"transform": 3}, "transform=3: must be callable or None"),
    ({"penalty_fn": "prior"}, "penalty_fn='prior': must be callable or None"),
    ({"lr_schedule": "step", "lr_step_size": 0}, "lr_step_size=0: must be a positive integer"),
    ({"lr_schedule": "exponential", "lr_gamma": 0}, "lr_gamma=0: must be a positive number"),
    ({"optimizer": "adan"}, r"unknown optimizer 'adan' \(did you mean 'adam'"),
    ({"resume": True}, "resume=True needs the checkpoint_dir"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
])
def test_each_bad_value_names_its_option(settings, message):
    with pytest.raises(PgmArError, match=message):
        TrainConfig(**settings)


def test_build_from_settings_and_a_config():
    base = TrainConfig(epochs=3, device="cpu")
    assert TrainConfig.build(base, {}) is base
    assert TrainConfig.build(base, {"lr": 0.1}) == base.replace(lr=0.1)
    assert TrainConfig.build(None, {"epochs": 2}).epochs == 2
    with pytest.raises(PgmArError, match="unknown training setting 'bach_size' "
                                         r"\(did you mean 'batch_size'"):
        TrainConfig.build(base, {"bach_size": 3})
