"""pytest: a teacher's output as a second target (distill.py), as train.py's step adds it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from common import ROOT, load_experiment, save_model
from distill import Teacher, distill_terms
from dsanet import DSANet, DSANetConfig
from losses import mse
from step import train_step

TINY = DSANetConfig(channels=(8, 16, 16), blocks=1, scales=2)
CPU = torch.device("cpu")


def clips() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 3, 32, 32, generator=g), torch.rand(2, 3, 3, 32, 32, generator=g)


def test_the_teacher_restores_each_frame_with_its_state_carried(tmp_path) -> None:
    torch.manual_seed(0)
    model = DSANet(TINY).eval()
    save_model(model, tmp_path / "teacher.pt")
    blurred, _ = clips()
    teacher = Teacher(tmp_path / "teacher.pt", CPU, channels_last=False)
    teacher.bf16 = False  # exact, in fp32 (train.py's teacher runs in bf16 where the CPU computes it natively)
    taught = teacher(blurred)
    state = None
    with torch.no_grad():
        for t in range(blurred.shape[1]):
            restored, state = model(blurred[:, t], state)
            assert torch.allclose(taught[:, t], restored[-1], atol=1e-6)
        alone = model(blurred[:, 2], None)[0][-1]
    assert not torch.allclose(taught[:, 2], alone, atol=1e-6)  # the state did carry
    assert taught.shape == blurred.shape and taught.dtype == torch.float32 and not taught.requires_grad


def test_the_distillation_term_is_the_mse_to_the_teacher_and_weighted_into_the_loss() -> None:
    torch.manual_seed(0)
    student = DSANet(TINY)
    blurred, sharp = clips()
    truth_only = train_step(student, blurred, sharp)
    # A teacher that gives zeros adds the mean energy of the finest images, times the weight.
    zeros = torch.zeros_like(sharp)
    with_zeros = train_step(student, blurred, sharp, None, zeros, 2.0)
    state, energy = None, 0.0
    with torch.no_grad():
        for t in range(blurred.shape[1]):
            restored, state = student(blurred[:, t], state)
            energy += mse(restored[-1], zeros[:, t]).item()
    assert with_zeros.item() == pytest.approx(truth_only.item() + 2.0 * energy / blurred.shape[1], rel=1e-5)
    with_weight_zero = train_step(student, blurred, sharp, None, zeros, 0.0)
    assert with_weight_zero.item() == pytest.approx(truth_only.item(), rel=1e-6)


def test_the_distill_section_names_a_teacher_and_its_weight() -> None:
    taught = [distill_terms(load_experiment(p)) for p in sorted((Path(__file__).parent / "experiments").rglob("*.yaml"))]
    teachers = [terms for terms in taught if terms]
    assert teachers and all((ROOT / teacher).exists() for teacher, _ in teachers)
    assert distill_terms({}) is None
    assert distill_terms({"distill": {"teacher": "models/dsanet.onnx"}}) == ("models/dsanet.onnx", 1.0)
    assert distill_terms({"distill": {"teacher": "t.pt", "weight": 0.5}}) == ("t.pt", 0.5)
    with pytest.raises(ValueError, match="distill: takes teacher"):
        distill_terms({"distill": {"teachers": "t.pt"}})
    with pytest.raises(ValueError, match="distill: takes teacher"):
        distill_terms({"distill": {"weight": 1.0}})
