"""A teacher network's output as a second target: knowledge distillation for a smaller DSANet.

An experiment's `distill: {teacher: models/dsanet.onnx, weight: 1.0}` (the teacher's weights: an
exported .onnx or a run's .pt, a path from the repository's root) makes each training step
run the teacher over the same clip (its own ConvLSTM state carried from frame to frame, no
gradient) and add `weight` times the MSE between the student's finest image and the teacher's
to the loss. Why: DSANet-Lite (160k parameters) cannot follow the sharp truth everywhere, and
what it learns from the truth alone trades one held-out figure against another from run to
run (the campaign of issue 35); the full DSANet scores higher than Lite on the heavy and mild
splits, the demo and sharp video, and its output is a function nearer to what Lite can
represent than the truth is. The truth stays in the loss at every scale.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from common import ROOT, bf16_is_native, load_model


class Teacher:
    """A frozen DSANet that restores a batch of clips (B, T, 3, S, S) to their finest images."""

    def __init__(self, weights: str | Path, dev: torch.device, channels_last: bool):
        path = Path(weights)
        self.model = load_model(path if path.is_absolute() else ROOT / path).to(dev)
        self.model.requires_grad_(False)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.bf16 = bf16_is_native(dev)

    @torch.no_grad()
    def __call__(self, blurred: Tensor) -> Tensor:
        """The teacher's finest image of each frame, the state carried through the clip: (B, T, 3, S, S), fp32."""
        state, frames = None, []
        with torch.autocast(blurred.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            for t in range(blurred.shape[1]):
                restored, state = self.model(blurred[:, t].contiguous(memory_format=self.memory_format), state)
                frames.append(restored[-1].float())
        return torch.stack(frames, 1)


def distill_terms(experiment: dict) -> tuple[str, float] | None:
    """An experiment's `distill:` section as (teacher weights, weight), or None without one."""
    section = experiment.get("distill")
    if not section:
        return None
    unknown = set(section) - {"teacher", "weight"}
    if unknown or "teacher" not in section:
        raise ValueError(f"distill: takes teacher (weights: an .onnx or a run's .pt) and weight; got {', '.join(sorted(section))}")
    return section["teacher"], float(section.get("weight", 1.0))
