"""pytest: the training step's options on the CPU (channels_last, the loss read every N steps,
the fall back to eager when the compiler fails), as train.py drives them."""
from __future__ import annotations

import pytest
import torch

from common import bf16_is_native
from dsanet import DSANet, DSANetConfig
from step import Step, make_optimizer, step_options, train_step

TINY = DSANetConfig(channels=(8, 16, 16), blocks=1, scales=2)
CPU = torch.device("cpu")


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 2, 3, 32, 32, generator=g), torch.rand(2, 2, 3, 32, 32, generator=g)


def test_channels_last_steps_the_same_as_nchw_and_the_loss_is_read_when_asked() -> None:
    results = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = DSANet(TINY)
        step = Step(model, make_optimizer(model, {"type": "AdamW", "lr": 1e-3}, CPU), CPU, step_options({}, {"channels_last": channels_last}, CPU))
        blurred, sharp = batch()
        expected = train_step(model, blurred, sharp).item()
        step(blurred, sharp, 1e-3)
        step(blurred, sharp, 1e-3)
        assert step.steps == 2
        mean = step.mean_loss()
        assert step.steps == 0 and step.loss_sum.item() == 0
        results.append((expected, mean, [p.detach().clone() for p in model.parameters()]))
    (plain_first, plain_mean, plain_params), (last_first, last_mean, last_params) = results
    assert plain_first == pytest.approx(last_first, rel=1e-5) and plain_mean == pytest.approx(last_mean, rel=1e-4)
    assert plain_mean < plain_first  # two steps lowered it
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain_params, last_params))


def test_a_compiler_failure_on_the_first_step_falls_back_to_eager(capsys: pytest.CaptureFixture[str]) -> None:
    model = DSANet(TINY)
    step = Step(model, make_optimizer(model, {"type": "Adam", "lr": 1e-3}, CPU), CPU, step_options({}, {}, CPU))

    def broken(*_args: object) -> None:
        raise RuntimeError("inductor: no C++ compiler\nmore")

    step.forward, step.compiled = broken, True
    step(*batch(), 1e-3)
    assert "torch.compile failed (RuntimeError: inductor: no C++ compiler); running eagerly" in capsys.readouterr().out
    assert step.forward is model and step.steps == 1
    step.forward, step.compiled = broken, True  # after the first step a failure is a real one
    with pytest.raises(RuntimeError):
        step(*batch(), 1e-3)


def test_step_options_come_from_the_yaml_then_the_flags_and_unknown_ones_are_refused() -> None:
    options = step_options({"step": {"compile": "default", "log_every": 10}}, {"compile": "none", "log_every": None}, CPU)
    assert options == {"compile": None, "channels_last": bf16_is_native(CPU), "log_every": 10}
    assert step_options({}, {}, CPU)["log_every"] == 1 and step_options({}, {}, torch.device("cuda"))["log_every"] == 50
    with pytest.raises(ValueError, match="step: unknown option.*compiled"):
        step_options({"step": {"compiled": "default"}}, {}, CPU)


def test_train_synthesizes_on_the_device_and_profiles_the_top_kernels(tmp_path) -> None:
    import os
    import subprocess
    import sys

    import yaml

    from common import ROOT
    from test_loan import write_photos

    write_photos(tmp_path / "photos")
    experiment = {
        "name": "device-tiny",
        "model": {"type": "DSANet", "scales": 2, "channels": [8, 16, 16], "blocks": 1},
        "loss": {"type": "multiscale_loss", "fft_weight": 0.1, "pixel": "psnr"},
        "data": {"crop": 32, "frames": 2, "batch": 2, "synthesis": "device", "jpeg": {"fraction": 0.5, "quality": [40, 95]},
                 "blur": {"exposures": [5, 9], "objects": 1, "shake": 0.02, "highlights": 0.5, "shot_noise": 0.002, "read_noise": 0.004}},
        "optim": {"type": "AdamW", "lr": 1e-3, "min_lr": 1e-6},
        "schedule": {"type": "cosine", "warmup": 5},
        "step": {"log_every": 11, "channels_last": True},
        "checkpoint_every": 11,
    }
    config = tmp_path / "device-tiny.yaml"
    config.write_text(yaml.safe_dump(experiment))
    env = {**os.environ, "DSANET_RUNS": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "training" / "train.py"), "--config", str(config), "--photo-dir", str(tmp_path / "photos"), "--iterations", "22", "--profile", "2"]
    trained = subprocess.run(command, capture_output=True, text=True, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "from photos, device synthesis" in trained.stdout and "'channels_last': True" in trained.stdout
    profile = trained.stdout.split("profile of iterations 21-22 (synthesis included):")[1]
    assert "aten::grid_sampler_2d" in profile and "Self CPU" in profile
    rows = (tmp_path / "runs" / "device-tiny" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["iteration", "11", "22"]
