"""What train, evaluate and export share: device choice, config and checkpoint loading."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor

from dsanet import DSANet, DSANetConfig, ScaledResBlock

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
# Resumable checkpoints with optimizer state; git-ignored. DSANET_RUNS moves them (loan.py's dry run).
RUNS = Path(os.environ.get("DSANET_RUNS", ROOT / "training" / "runs"))
# The metadata_props key under which an exported ONNX file carries its DSANetConfig as JSON.
ONNX_CONFIG_KEY = "dsanet.config"


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
    """A DSANet from an exported ONNX file (models/dsanet.onnx: the config in its metadata, the
    weights in its initializers) or a .pt state dict saved with its config (train.py's runs).
    An export of a `block: scaled` model loads as `block: plain`: its scales were folded into
    the convs (the same outputs); the run's .pt keeps them apart."""
    config, state = read_weights(weights)
    if scales is not None:
        config = dataclasses.replace(config, scales=scales)
    model = DSANet(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{weights}: its weights do not fit its own config {config}: {error}") from None
    return model.eval()


def read_weights(weights: str | Path) -> tuple[DSANetConfig, dict[str, Tensor]]:
    """The config and state dict that `weights` holds, an .onnx export or a .pt checkpoint."""
    if Path(weights).suffix == ".onnx":
        return _onnx_weights(Path(weights))
    saved = torch.load(weights, map_location="cpu")
    return _config(saved["config"]), saved["model"]


def _config(options: dict[str, Any]) -> DSANetConfig:
    return DSANetConfig(**{**options, "channels": tuple(options["channels"])})


def _onnx_weights(path: Path) -> tuple[DSANetConfig, dict[str, Tensor]]:
    """export.py names each initializer that holds a weight by its state-dict key; the graph's
    other initializers (the pixel constants) are not weights. A file that cannot rebuild the
    model exactly is refused: an export from before the config travelled in the file, or a
    --scales 1 graph, which never uses the attention heads and folds the image head's kernel."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path))
    metadata = {p.key: p.value for p in graph.metadata_props}
    if ONNX_CONFIG_KEY not in metadata:
        raise ValueError(f"{path}: no {ONNX_CONFIG_KEY} in its metadata (an export from before the config travelled in the file); re-export it with training/export.py")
    config = _config(json.loads(metadata[ONNX_CONFIG_KEY]))
    wanted = DSANet(config).state_dict().keys()
    state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.graph.initializer if t.name in wanted}
    missing = [key for key in wanted if key not in state]
    if missing:
        raise ValueError(
            f"{path}: lacks {len(missing)} of the {len(wanted)} weights its config needs ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); "
            "(a graph exported with --scales 1 holds some folded into constants, or not at all): load the .onnx or .pt it was exported from"
        )
    return config, state


def init_from(model: DSANet, weights: str | Path) -> list[str]:
    """Start `model` from trained weights of the same or an older block design: every tensor
    whose name and shape match is copied; residual scales the weights lack (an older design, or
    an ONNX export, which folds them into the convs) start at 1, so
    the paper's blocks compute exactly what they did; anything else new (a LayerNorm) keeps
    its initial value. Returns the names left at their initial values."""
    saved = read_weights(weights)[1]
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
