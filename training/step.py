"""One training step at the device's rate, and the options that get it there.

On a GPU the step is launch- and memory-bound unless it is fed large batches in bf16, in the
memory layout its convolutions like, compiled, with a fused optimizer, and without waiting on
the device: `Step` does each of these where the device and the PyTorch version have it, and
the same code runs eagerly in fp32 on Debian's PyTorch 1.13 on the CPU.

Options (the experiment YAML's `step:`, each also a train.py flag):
  compile: null | "default" | "max-autotune-no-cudagraphs" | ...  torch.compile's mode
  channels_last: false | true   NHWC activations (Inductor keeps NCHW for nets of <= 64 channels
                                unless told; measure both). Unset: on where the CPU computes
                                bf16 natively (AMX, AVX512-BF16), where oneDNN reaches its
                                matrix units only in NHWC (bench_step.py: 1.3-1.7x bf16 in NCHW);
                                off elsewhere (fp32 on AMD without them gains nothing)
  log_every: 50 on a GPU, 1 on the CPU   iterations between reads of the loss (each read waits
                                on the device; on the CPU it costs nothing, and log.csv keeps a row a step)
"""
from __future__ import annotations

import inspect
from typing import Callable

import torch

from common import bf16_is_native
from distill import Teacher
from dsanet import DSANet
from losses import mse, multiscale_loss

DEFAULTS = {"compile": None, "channels_last": None, "log_every": None}


def train_step(
    model: Callable, blurred: torch.Tensor, sharp: torch.Tensor, loss_terms: dict | None = None,
    taught: torch.Tensor | None = None, distill_weight: float = 0.0,
) -> torch.Tensor:
    """Loss of one batch of clips (B, T, 3, S, S), the state carried from frame to frame;
    loss_terms: multiscale_loss's keyword arguments (losses.loss_terms), its defaults where None;
    taught: a teacher's finest images of the same clips (distill.py), weighted by distill_weight."""
    state = None
    loss = blurred.new_zeros(())
    for t in range(blurred.shape[1]):
        restored, state = model(blurred[:, t], state)
        loss = loss + multiscale_loss(restored, sharp[:, t], **(loss_terms or {}))
        if taught is not None:
            loss = loss + distill_weight * mse(restored[-1].float(), taught[:, t])
    return loss / blurred.shape[1]


def make_optimizer(model: DSANet, optim: dict, dev: torch.device) -> torch.optim.Optimizer:
    """AdamW or Adam; the fused CUDA kernel (one launch for all parameters) where there is one,
    else the multi-tensor (foreach) update: one op over all parameters instead of a dozen small
    ones each (on the CPU, 4% of a bf16 step went to AdamW's per-parameter ops)."""
    betas = tuple(optim.get("betas", (0.9, 0.999)))
    kind = torch.optim.AdamW if optim["type"] == "AdamW" else torch.optim.Adam
    options = {"lr": optim["lr"], "betas": betas}
    if kind is torch.optim.AdamW:
        options["weight_decay"] = optim.get("weight_decay", 0.0)
    if dev.type == "cuda" and "fused" in inspect.signature(kind).parameters:
        options["fused"] = True
    elif "foreach" in inspect.signature(kind).parameters:
        options["foreach"] = True
    return kind(model.parameters(), **options)


def step_options(experiment: dict, overrides: dict, dev: torch.device) -> dict:
    """DEFAULTS, then the YAML's `step:`, then the flags given (None: not given)."""
    options = {**DEFAULTS, **experiment.get("step", {})}
    options.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"step: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(DEFAULTS)}")
    if options["compile"] == "none":
        options["compile"] = None
    if options["channels_last"] is None:
        options["channels_last"] = dev.type == "cpu" and bf16_is_native(dev)
    if options["log_every"] is None:
        options["log_every"] = 50 if dev.type == "cuda" else 1
    return options


class Step:
    """Forward, backward and the optimizer's update of one batch, with no host sync: the loss
    stays on the device, summed, until `mean_loss` reads it."""

    def __init__(
        self, model: DSANet, optimizer: torch.optim.Optimizer, dev: torch.device, options: dict, loss_terms: dict | None = None,
        distill: tuple[Teacher, float] | None = None,
    ):
        self.model, self.optimizer, self.dev = model, optimizer, dev
        self.loss_terms = loss_terms
        self.distill = distill
        self.bf16 = bf16_is_native(dev)
        self.memory_format = torch.channels_last if options["channels_last"] else torch.contiguous_format
        model.to(memory_format=self.memory_format)
        self.forward: Callable = model
        self.compiled = False
        if options["compile"]:
            if not hasattr(torch, "compile"):
                print(f"step: torch {torch.__version__} has no torch.compile; running eagerly", flush=True)
            else:
                self.forward = torch.compile(model, mode=options["compile"])
                self.compiled = True
        self.loss_sum = torch.zeros((), device=dev)
        self.steps = 0  # since the loss was last read
        self.started = False

    def __call__(self, blurred: torch.Tensor, sharp: torch.Tensor, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        blurred = blurred.to(self.dev, non_blocking=True)
        sharp = sharp.to(self.dev, non_blocking=True)
        try:
            self._update(blurred, sharp)
        except Exception as error:  # noqa: BLE001 - a compiler failure must not cost a GPU loan
            if not self.compiled or self.started:
                raise
            print(f"step: torch.compile failed ({type(error).__name__}: {(str(error).splitlines() or [''])[0]}); running eagerly", flush=True)
            self.forward, self.compiled = self.model, False
            self._update(blurred, sharp)
        self.steps += 1
        self.started = True

    def _update(self, blurred: torch.Tensor, sharp: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(blurred, sharp)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.loss_sum += loss.detach()

    def _loss(self, blurred: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
        if self.memory_format is torch.channels_last:
            # (B, T, 3, S, S) -> each frame (B, 3, S, S) in NHWC.
            blurred = blurred.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
        taught, weight = (self.distill[0](blurred), self.distill[1]) if self.distill else (None, 0.0)
        with torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.bf16):
            return train_step(self.forward, blurred, sharp, self.loss_terms, taught, weight)

    def mean_loss(self) -> float:
        """The mean loss since the last call (waits on the device)."""
        value = float(self.loss_sum) / max(self.steps, 1)
        self.loss_sum.zero_()
        self.steps = 0
        return value


def bottleneck(model: DSANet, blurred: torch.Tensor) -> float:
    """The mean |encoder output| that feeds the ConvLSTM (before `bottleneck_norm`'s LayerNorm)
    for the first frame of a batch, from the eager model: healthy values are ~0.01-1. At lr
    1e-3 the paper's blocks grew it to 1e5, saturating every gate of the ConvLSTM (the state
    stopped mattering) and killing the decoder's ReLUs below it."""
    seen: list[torch.Tensor] = []
    handle = model.net.lstm_norm.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach().abs().mean()))
    try:
        with torch.no_grad(), torch.autocast(blurred.device.type, dtype=torch.bfloat16, enabled=bf16_is_native(blurred.device)):
            model(blurred[:, 0])
    finally:
        handle.remove()
    return float(seen[0])


def profile_table(profiler: torch.profiler.profile, dev: torch.device, rows: int = 15) -> str:
    """The profiled operators and kernels that took the most device time (CPU time on a CPU)."""
    averages = profiler.key_averages()
    if dev.type != "cuda":
        return averages.table(sort_by="self_cpu_time_total", row_limit=rows)
    # PyTorch 2.4 renamed the CUDA columns to "device"; older versions know only "cuda".
    key = "self_device_time_total" if hasattr(averages[0], "self_device_time_total") else "self_cuda_time_total"
    return averages.table(sort_by=key, row_limit=rows)
