"""What train, evaluate and export share: device choice, config and checkpoint loading."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import yaml

from dsanet import DSANet, DSANetConfig, ScaledResBlock

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
# Resumable checkpoints with optimizer state; git-ignored. DSANET_RUNS moves them (loan.py's dry run).
RUNS = Path(os.environ.get("DSANET_RUNS", ROOT / "training" / "runs"))


def device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    # Debian's torch 1.13 starts with one thread whatever the machine has; OMP_NUM_THREADS, where
    # set, wins (loan.py's dry run: on a busy machine two spinning threads ran a forward 16x slower).
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1)
    return torch.device("cpu")


def bf16_is_native(dev: torch.device) -> bool:
    """Mixed precision (bf16 autocast) pays where the hardware computes bf16 natively: CUDA, and
    x86 CPUs with AMX or AVX512-BF16 (on a 2-core Xeon with AMX, a training step ran 1.4x faster
    and the loss of a trained model moved by 0.2%)."""
    if dev.type == "cuda":
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def load_experiment(path: str | Path) -> dict[str, Any]:
    with open(path) as f:
        return yaml.safe_load(f)


def model_config(options: dict[str, Any]) -> DSANetConfig:
    options = {k: v for k, v in options.items() if k != "type"}
    if "channels" in options:
        options["channels"] = tuple(options["channels"])
    return DSANetConfig(**options)


def load_model(weights: str | Path, scales: int | None = None) -> DSANet:
    """A DSANet from a state dict file saved with its config (as train.py and models/ do)."""
    saved = torch.load(weights, map_location="cpu")
    config = DSANetConfig(**{**saved["config"], "channels": tuple(saved["config"]["channels"])})
    if scales is not None:
        config = DSANetConfig(**{**config.__dict__, "scales": scales})
    model = DSANet(config)
    model.load_state_dict(saved["model"])
    return model.eval()


def init_from(model: DSANet, weights: str | Path) -> list[str]:
    """Start `model` from trained weights of the same or an older block design: every tensor
    whose name and shape match is copied; residual scales the weights lack start at 1, so
    the paper's blocks compute exactly what they did; anything else new (a LayerNorm) keeps
    its initial value. Returns the names left at their initial values."""
    saved = torch.load(weights, map_location="cpu")["model"]
    own = model.state_dict()
    copied = {k: v for k, v in saved.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict({**own, **copied})
    for name, module in model.named_modules():
        if isinstance(module, ScaledResBlock) and f"{name}.scale" not in copied:
            module.scale.data.fill_(1.0)
    return [k for k in own if k not in copied and not k.endswith(".scale")]


def save_model(model: DSANet, path: str | Path, **meta: Any) -> None:
    """Written under a temporary name, then renamed: a reader never sees half a file."""
    partial = Path(path).with_suffix(".tmp")
    torch.save({"config": model.config.__dict__, "model": model.state_dict(), **meta}, partial)
    partial.replace(path)
