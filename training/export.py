"""Export trained weights for the TypeScript engines.

    python3 training/export.py [--weights models/dsanet.onnx] [--name dsanet] [--scales K]
    python3 training/export.py --weights training/runs/dsanet-lite-gpu/model.pt --name dsanet-lite

writes models/NAME.onnx (dsanet: the full model; dsanet-lite: DSANet-Lite), the one file the
shipped weights live in: the onnx engine runs its graph, and the tfjs engine and training
(common.load_model) read the weights back from its initializers, each named by its state-dict
key, and the DSANetConfig from its metadata (`dsanet.config`, JSON).
The graph's inputs are `rgb` (N, H, W, 3), uint8 frames as the decoder gives them, and the
carried state `h`, `c` (N, C3, H'/8, W'/8; C3 = 128 for DSANet), where H' and W' are H and W
rounded up to the model's stride (32 with 3 scales); outputs `rgb_out` (N, H, W, 3) uint8 and
the new `h_out`, `c_out`. H and W are dynamic, any size: the graph pads the frame to the
stride by repeating its last row and column, and crops the result, so that the pixel work
runs in onnxruntime, on every core, rather than in JavaScript. With --float, the network
alone: `frame` (N, 3, H', W') in [0, 1] to `sharp` clamped to [0, 1] (older exports; the
engine converts the pixels itself). With --scales K other than the trained K:
models/NAME-kK.onnx, for the onnx engine alone (the tfjs engine picks K at run time).

Residual scales (`block: scaled`) are folded into their convs: the file rebuilds as the same
network with `block: plain`, the same outputs; a run resumes its scaled design from its .pt.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import inspect
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import Tensor, nn

from common import MODELS, ONNX_CONFIG_KEY, load_model
from dsanet import DSANet, ResBlock, ScaledResBlock


class StreamingDSANet(nn.Module):
    """One frame in, one sharp frame out, the ConvLSTM state passed explicitly."""

    def __init__(self, model: DSANet):
        super().__init__()
        self.model = model

    def forward(self, frame: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        restored, (h, c) = self.model(frame, (h, c))
        return restored[-1].clamp(0, 1), h, c


def fold_residual_scales(model: DSANet) -> DSANet:
    """A copy in which each scaled block (x + scale * conv(relu(conv(x)))) is the paper's block
    with `scale` multiplied into its last conv: the same outputs, one elementwise pass fewer per
    block for onnxruntime. Its config says `block: plain`, which is what it now is."""
    folded = copy.deepcopy(model)
    if model.config.block == "scaled":
        folded.config = dataclasses.replace(model.config, block="plain")
    for module in list(folded.modules()):
        for name, child in module.named_children():
            if isinstance(child, ScaledResBlock):
                plain = ResBlock(child.scale.shape[1])
                plain.load_state_dict({k: v for k, v in child.state_dict().items() if k != "scale"})
                scale = child.scale.detach().reshape(-1)
                last = plain.body[-1]
                last.weight.data.mul_(scale.reshape(-1, 1, 1, 1))
                last.bias.data.mul_(scale)
                setattr(module, name, plain)
    return folded


def export_onnx(model: DSANet, path: Path, opset: int = 17, pixels: bool = True) -> list[str]:
    """The network as ONNX, written atomically, with its weights named and its config in the
    metadata (see the module's docstring); with `pixels`, wrapped to take and give uint8 frames
    (see with_pixels). Returns the state-dict keys no initializer holds (with K=1: weights it
    never uses, and the image head's kernel, which only a folded constant holds)."""
    model = fold_residual_scales(model)
    stride = model.stride
    frame = torch.rand(1, 3, 2 * stride, 3 * stride)
    h, c = model.initial_state(frame)
    spatial = {0: "batch", 2: "height", 3: "width"}
    state = {0: "batch", 2: "state_height", 3: "state_width"}
    with tempfile.TemporaryDirectory() as work:
        traced = Path(work) / "traced.onnx"
        torch.onnx.export(
            StreamingDSANet(model).eval(),
            (frame, h, c),
            str(traced),
            input_names=["frame", "h", "c"],
            output_names=["sharp", "h_out", "c_out"],
            dynamic_axes={"frame": spatial, "h": state, "c": state, "sharp": spatial, "h_out": state, "c_out": state},
            opset_version=opset,
            # PyTorch 2.9 made the dynamo exporter the default; with_pixels edits the TorchScript
            # exporter's graph, so keep that one where there is a choice.
            **({"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}),
        )
        graph = onnx.load(str(traced))
    missing = name_weights(graph, model.state_dict())
    if pixels:
        graph = with_pixels(graph, stride)
    graph.metadata_props.add(key=ONNX_CONFIG_KEY, value=json.dumps(dataclasses.asdict(model.config)))
    onnx.checker.check_model(graph)
    partial = path.with_name(f"{path.name}.tmp")
    onnx.save(graph, str(partial))
    os.replace(partial, path)
    return missing


def name_weights(graph: onnx.ModelProto, state: dict[str, Tensor]) -> list[str]:
    """Names each initializer that holds a weight by its state-dict key, so that the file alone
    rebuilds the model. The exporter names most `model.<key>` (StreamingDSANet's attribute);
    constant folding renames the transposed convs' biases (`onnx::Split_2756`: they feed
    repeat_interleave), and those are found by their values, which is exact: where two weights
    hold equal values, either name loads the same model. The exporter also keeps one
    initializer for weights of equal values (an untrained model's zero biases): each other key
    gets a copy, which no node reads. Returns the keys no initializer holds."""
    prefix = "model."
    initializers = list(graph.graph.initializer)
    renamed = {t.name: t.name.removeprefix(prefix) for t in initializers if t.name.startswith(prefix) and t.name.removeprefix(prefix) in state}
    unmatched = [t for t in initializers if t.name not in renamed]
    copies, missing = [], []
    for key in [k for k in state if k not in renamed.values()]:
        value = state[key].detach().numpy()
        equal = lambda tensor: tuple(tensor.dims) == value.shape and np.array_equal(numpy_helper.to_array(tensor), value)  # noqa: E731
        if match := next((t for t in unmatched if equal(t)), None):
            renamed[match.name] = key
            unmatched.remove(match)
        elif any(equal(t) for t in initializers):
            copies.append(numpy_helper.from_array(value, key))
        else:
            missing.append(key)
    for tensor in initializers:
        tensor.name = renamed.get(tensor.name, tensor.name)
    for node in graph.graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    graph.graph.initializer.extend(copies)
    return missing


def with_pixels(graph: onnx.ModelProto, stride: int) -> onnx.ModelProto:
    """The float graph (`frame` -> `sharp`) behind uint8 frames: `rgb` (N, H, W, 3) of any size
    is scaled to [0, 1], laid out as planes and padded to the stride by repeating its last row
    and column (as toFloat in src/engine/pixels.ts did); `sharp` is cropped back to H x W,
    scaled to 0-255, rounded half to even and made uint8 `rgb_out` (as toBytes did)."""
    g = graph.graph
    constants = {
        "px_255": np.array(255, dtype=np.float32),
        "px_stride": np.array([stride], dtype=np.int64),
        "px_hw_start": np.array([2], dtype=np.int64),
        "px_hw_end": np.array([4], dtype=np.int64),
        "px_no_pad": np.zeros(6, dtype=np.int64),
        "px_origin": np.zeros(2, dtype=np.int64),
        "px_hw_axes": np.array([2, 3], dtype=np.int64),
        "px_zero": np.array(0, dtype=np.float32),
    }
    g.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    node = helper.make_node
    before = [
        node("Cast", ["rgb"], ["px_bytes"], to=TensorProto.FLOAT),
        node("Div", ["px_bytes", "px_255"], ["px_unit"]),
        node("Transpose", ["px_unit"], ["px_planes"], perm=[0, 3, 1, 2]),
        node("Shape", ["px_planes"], ["px_shape"]),
        node("Slice", ["px_shape", "px_hw_start", "px_hw_end"], ["px_hw"]),
        # (stride - size % stride) % stride rows and columns of padding: none on a multiple.
        node("Mod", ["px_hw", "px_stride"], ["px_hw_rest"]),
        node("Sub", ["px_stride", "px_hw_rest"], ["px_hw_short"]),
        node("Mod", ["px_hw_short", "px_stride"], ["px_hw_pad"]),
        node("Concat", ["px_no_pad", "px_hw_pad"], ["px_pads"], axis=0),
        node("Pad", ["px_planes", "px_pads"], ["frame"], mode="edge"),
    ]
    for n in g.node:
        n.output[:] = ["px_sharp" if name == "sharp" else name for name in n.output]
    after = [
        node("Slice", ["px_sharp", "px_origin", "px_hw", "px_hw_axes"], ["px_cropped"]),
        node("Transpose", ["px_cropped"], ["px_interleaved"], perm=[0, 2, 3, 1]),
        node("Mul", ["px_interleaved", "px_255"], ["px_levels"]),
        node("Round", ["px_levels"], ["px_rounded"]),
        node("Clip", ["px_rounded", "px_zero", "px_255"], ["px_clipped"]),
        node("Cast", ["px_clipped"], ["rgb_out"], to=TensorProto.UINT8),
    ]
    nodes = before + list(g.node) + after
    del g.node[:]
    g.node.extend(nodes)
    frames = ["batch", "height", "width", 3]
    inputs = [helper.make_tensor_value_info("rgb", TensorProto.UINT8, frames)] + [i for i in g.input if i.name != "frame"]
    outputs = [helper.make_tensor_value_info("rgb_out", TensorProto.UINT8, frames)] + [o for o in g.output if o.name != "sharp"]
    del g.input[:], g.output[:]
    g.input.extend(inputs)
    g.output.extend(outputs)
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(MODELS / "dsanet.onnx"), help="an exported .onnx or a run's .pt")
    parser.add_argument("--name", default="dsanet", help="file names: dsanet or dsanet-lite (the TypeScript side's --model full or lite)")
    parser.add_argument("--scales", type=int, help="export the ONNX graph with this K (the tfjs engine picks K at run time)")
    parser.add_argument("--out", default=str(MODELS), help="folder for NAME.onnx")
    parser.add_argument("--float", action="store_true", help="ONNX of the network alone, float planes in and out (no pixel work)")
    args = parser.parse_args()
    model = load_model(args.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scales = args.scales or model.scales
    path = out / (f"{args.name}.onnx" if scales == model.scales else f"{args.name}-k{scales}.onnx")
    if path.resolve() == Path(args.weights).resolve():
        raise SystemExit(f"{path}: is --weights itself; export into another --out (an export never overwrites its input)")
    if scales != model.scales:
        model = load_model(args.weights, scales=scales)
    missing = export_onnx(model, path, pixels=not args.float)
    print(f"wrote {path} (scales={scales})")
    if model.config.block == "scaled":
        print(f"note: {path.name} holds the residual scales folded into their convs: it loads as block: plain (the same outputs); resume the scaled design from its .pt")
    if missing:
        # K=1 never runs the attention heads, and folds the image head's kernel into a constant
        # (dsanet.conv_after_pixel_shuffle).
        print(f"note: {path.name} holds {len(missing)} weights under no name of theirs ({', '.join(missing)}): training and the tfjs engine cannot load it; they read the trained K's file")


if __name__ == "__main__":
    main()
