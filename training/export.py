"""Export trained weights for the TypeScript engines.

    python3 training/export.py [--weights models/dsanet.pt] [--name dsanet] [--scales K]
    python3 training/export.py --weights training/runs/dsanet-lite-gpu/model.pt --name dsanet-lite

writes, for --name NAME (dsanet: the full model; dsanet-lite: DSANet-Lite)
- models/NAME.pt: the weights alone (no optimizer state), from which training can resume
- models/NAME.onnx: inputs `rgb` (N, H, W, 3), uint8 frames as the decoder gives them, and the
  carried state `h`, `c` (N, C3, H'/8, W'/8; C3 = 128 for DSANet), where H' and W' are H and W
  rounded up to the model's stride (32 with 3 scales); outputs `rgb_out` (N, H, W, 3) uint8 and
  the new `h_out`, `c_out`. H and W are dynamic, any size: the graph pads the frame to the
  stride by repeating its last row and column, and crops the result, so that the pixel work
  runs in onnxruntime, on every core, rather than in JavaScript. With --float, the network
  alone: `frame` (N, 3, H', W') in [0, 1] to `sharp` clamped to [0, 1] (older exports; the
  engine converts the pixels itself). With --scales K other than the trained K:
  models/NAME-kK.onnx.
- models/tfjs/ (tfjs-lite/ for dsanet-lite): model.json (config + a TensorFlow.js weights
  manifest) and weights.bin, with conv kernels in TensorFlow's HWIO layout, for the tfjs
  engine's DSANet, which runs any K.
"""
from __future__ import annotations

import argparse
import copy
import inspect
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import Tensor, nn

from common import MODELS, load_model, save_model
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
    block for onnxruntime."""
    folded = copy.deepcopy(model)
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


def export_onnx(model: DSANet, path: Path, opset: int = 17, pixels: bool = True) -> None:
    """The network as ONNX; with `pixels`, wrapped to take and give uint8 frames (see with_pixels)."""
    model = fold_residual_scales(model)
    stride = model.stride
    frame = torch.rand(1, 3, 2 * stride, 3 * stride)
    h, c = model.initial_state(frame)
    spatial = {0: "batch", 2: "height", 3: "width"}
    state = {0: "batch", 2: "state_height", 3: "state_width"}
    torch.onnx.export(
        StreamingDSANet(model).eval(),
        (frame, h, c),
        str(path),
        input_names=["frame", "h", "c"],
        output_names=["sharp", "h_out", "c_out"],
        dynamic_axes={"frame": spatial, "h": state, "c": state, "sharp": spatial, "h_out": state, "c_out": state},
        opset_version=opset,
        # PyTorch 2.9 made the dynamo exporter the default; with_pixels edits the TorchScript
        # exporter's graph, so keep that one where there is a choice.
        **({"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}),
    )
    if pixels:
        onnx.save(with_pixels(onnx.load(str(path)), stride), str(path))


def with_pixels(graph: onnx.ModelProto, stride: int) -> onnx.ModelProto:
    """The float graph (`frame` -> `sharp`) behind uint8 frames: `rgb` (N, H, W, 3) of any size
    is scaled to [0, 1], laid out as planes and padded to the stride by repeating its last row
    and column (as toFloat in src/model/pixels.ts did); `sharp` is cropped back to H x W,
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
    onnx.checker.check_model(graph)
    return graph


def export_tfjs(model: DSANet, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    kernels = {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))}
    entries, blobs = [], []
    for name, tensor in model.state_dict().items():
        array = tensor.detach().float().numpy()
        if name in kernels:
            # One permutation serves both: conv OIHW -> HWIO (tf.conv2d's filter), and transposed
            # conv IOHW -> HWOI (tf.conv2dTranspose's filter).
            array = array.transpose(2, 3, 1, 0)
        else:
            # Per-channel parameters (biases, residual scales, LayerNorm's (1, C, 1, 1)) become
            # (C,), which broadcasts over NHWC's last axis.
            array = array.reshape(-1)
        array = np.ascontiguousarray(array, dtype="<f4")
        entries.append({"name": name, "shape": list(array.shape), "dtype": "float32"})
        blobs.append(array.tobytes())
    (directory / "weights.bin").write_bytes(b"".join(blobs))
    manifest = {
        "format": "dsanet-tfjs-weights",
        "config": {**model.config.__dict__, "channels": list(model.config.channels)},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": entries}],
    }
    (directory / "model.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(MODELS / "dsanet.pt"))
    parser.add_argument("--name", default="dsanet", help="file names: dsanet or dsanet-lite (the TypeScript side's --model full or lite)")
    parser.add_argument("--scales", type=int, help="export the ONNX graph with this K (the tfjs engine picks K at run time)")
    parser.add_argument("--out", default=str(MODELS), help="folder for NAME.pt, NAME.onnx and the tfjs weights")
    parser.add_argument("--float", action="store_true", help="ONNX of the network alone, float planes in and out (no pixel work)")
    parser.add_argument("--onnx-only", action="store_true", help="only NAME.onnx (no .pt copy, no tfjs)")
    args = parser.parse_args()
    model = load_model(args.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.onnx_only:
        export_onnx(model, out / f"{args.name}.onnx", pixels=not args.float)
        print(f"wrote {out / f'{args.name}.onnx'} (scales={model.scales})")
        return
    if args.scales and args.scales != model.scales:
        onnx_path = out / f"{args.name}-k{args.scales}.onnx"
        export_onnx(load_model(args.weights, scales=args.scales), onnx_path, pixels=not args.float)
        print(f"wrote {onnx_path} (scales={args.scales})")
        return
    if Path(args.weights).resolve() != (out / f"{args.name}.pt").resolve():
        save_model(model, out / f"{args.name}.pt")  # the weights ship beside their exports
    tfjs = out / ("tfjs" if args.name == "dsanet" else f"tfjs-{args.name.removeprefix('dsanet-')}")
    export_onnx(model, out / f"{args.name}.onnx", pixels=not args.float)
    export_tfjs(model, tfjs)
    print(f"wrote {out / f'{args.name}.onnx'} and {tfjs} (scales={model.scales})")


if __name__ == "__main__":
    main()
