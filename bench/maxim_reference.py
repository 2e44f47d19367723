"""MAXIM's TensorFlow.js graph run node by node in eager PyTorch: a reference written apart from
src/convert/ (TensorFlow's op semantics read from its docs, no folding, shapes computed as the
graph runs), to check the converted ONNX graph at sizes where tfjs-cpu would take hours.

    python3 bench/maxim_reference.py MODEL_JSON IN.f32 OUT.f32 HEIGHT WIDTH

IN.f32 and OUT.f32 are raw little-endian float32 NHWC (1, HEIGHT, WIDTH, 3) in [0, 1], as the
graph takes and gives them (bench/maxim-parity.ts writes the input and compares the output).
"""
from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int64, "DT_BOOL": torch.bool, "DT_INT64": torch.int64}


def load_weights(model_json: Path, manifest: list[dict]) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = {}
    for group in manifest:
        data = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if "quantization" in spec:
                raise SystemExit(f"{spec['name']}: quantized weights are not supported")
            dtype = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[spec["dtype"]]
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(spec["shape"])
            offset += count * np.dtype(dtype).itemsize
            tensor = torch.from_numpy(array.copy())
            weights[spec["name"]] = tensor.long() if dtype is np.int32 else tensor
    return weights


def attr_int(node: dict, key: str, default: int = 0) -> int:
    return int(node.get("attr", {}).get(key, {}).get("i", default))


def attr_ints(node: dict, key: str) -> list[int]:
    return [int(i) for i in node["attr"][key]["list"].get("i", [])]


def attr_str(node: dict, key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode()


def strided_slice(x: torch.Tensor, begin: list[int], end: list[int], strides: list[int], node: dict) -> torch.Tensor:
    """TensorFlow's StridedSlice, all five masks."""
    masks = {k: attr_int(node, k) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    index: list[object] = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        bit = 1 << i
        if masks["ellipsis_mask"] & bit:
            index.append(Ellipsis)
        elif masks["new_axis_mask"] & bit:
            index.append(None)
        elif masks["shrink_axis_mask"] & bit:
            index.append(b)
        else:
            index.append(slice(None if masks["begin_mask"] & bit else b, None if masks["end_mask"] & bit else e, s))
    if any(isinstance(s, slice) and s.step is not None and s.step < 0 for s in index):
        raise SystemExit(f"{node['name']}: negative strides are not supported")
    return x[tuple(index)]


def conv2d_same(x: torch.Tensor, kernel: torch.Tensor, stride: int, padding: str) -> torch.Tensor:
    """NHWC x, HWIO kernel; TensorFlow's SAME pads the extra row and column at the end."""
    x = x.permute(0, 3, 1, 2)
    weight = kernel.permute(3, 2, 0, 1)
    if padding == "SAME":
        pads = []
        for size, k in ((x.shape[3], weight.shape[3]), (x.shape[2], weight.shape[2])):
            out = -(-size // stride)
            total = max((out - 1) * stride + k - size, 0)
            pads += [total // 2, total - total // 2]
        x = F.pad(x, pads)
    return F.conv2d(x, weight, stride=stride).permute(0, 2, 3, 1)


def conv2d_backprop_input(sizes: list[int], kernel: torch.Tensor, grad: torch.Tensor, stride: int, padding: str) -> torch.Tensor:
    """The transposed convolution: HWIO kernel read as (H, W, out, in)."""
    if padding != "VALID":
        raise SystemExit(f"Conv2DBackpropInput: padding {padding} is not supported")
    y = F.conv_transpose2d(grad.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1), stride=stride)
    return y[:, :, : sizes[1], : sizes[2]].permute(0, 2, 3, 1)


def einsum(equation: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # torch.einsum takes letters alone; TensorFlow's equations here have no ellipsis.
    if "." in equation:
        raise SystemExit(f"Einsum {equation}: ellipsis is not supported")
    return torch.einsum(equation, a, b)


BINARY = {
    "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Maximum": torch.maximum, "Minimum": torch.minimum,
    "GreaterEqual": torch.ge, "Greater": torch.gt, "LessEqual": torch.le, "Less": torch.lt, "NotEqual": torch.ne,
    "LogicalAnd": torch.logical_and, "FloorMod": torch.remainder,
}
UNARY = {
    "Square": torch.square, "Rsqrt": torch.rsqrt, "Tanh": torch.tanh, "Abs": torch.abs, "Neg": torch.neg, "Exp": torch.exp,
    "Floor": torch.floor, "Sign": torch.sign, "Reciprocal": torch.reciprocal, "Identity": lambda x: x,
}


def run(model_json: Path, image: torch.Tensor) -> torch.Tensor:
    model = json.loads(model_json.read_text())
    weights = load_weights(model_json, model["weightsManifest"])
    nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    input_name = model["signature"]["inputs"]["xs_0"]["name"].split(":")[0]
    output_name = model["signature"]["outputs"]["output_0"]["name"].split(":")[0]
    # Free each value after its last use: the graph's activations would not fit otherwise.
    uses: dict[str, int] = {}
    for n in nodes.values():
        for i in n.get("input", []):
            if not i.startswith("^"):
                uses[i.split(":")[0]] = uses.get(i.split(":")[0], 0) + 1
    values: dict[str, torch.Tensor] = {}

    def evaluate(name: str) -> torch.Tensor:
        # Iterative depth-first order: the graph is deeper than Python's recursion limit.
        stack = [name]
        while stack:
            current = stack[-1]
            if current in values:
                stack.pop()
                continue
            node = nodes[current]
            missing = [i.split(":")[0] for i in node.get("input", []) if not i.startswith("^") and i.split(":")[0] not in values]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            values[current] = compute(node)
            for i in node.get("input", []):
                if i.startswith("^"):
                    continue
                key = i.split(":")[0]
                uses[key] -= 1
                if uses[key] == 0 and key != name:
                    del values[key]
        return values[name]

    def compute(node: dict) -> torch.Tensor:
        op = node["op"]
        args = [values[i.split(":")[0]] for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            return weights[node["name"]]
        if op == "Placeholder":
            return image
        if op in BINARY:
            a, b = args
            if op == "FloorMod" or not (a.is_floating_point() or b.is_floating_point()):
                return BINARY[op](a, b)
            return BINARY[op](a.float(), b.float())
        if op in UNARY:
            return UNARY[op](args[0])
        if op == "RealDiv":
            return args[0] / args[1]
        if op == "FloorDiv":
            return torch.div(args[0], args[1], rounding_mode="floor")
        if op == "Cast":
            return args[0].to(DTYPES[node["attr"]["DstT"]["type"]])
        if op == "Shape":
            return torch.tensor(args[0].shape, dtype=torch.int64)
        if op == "Reshape":
            return args[0].reshape([int(v) for v in args[1].reshape(-1)])
        if op == "Transpose":
            return args[0].permute([int(v) for v in args[1]]).contiguous()
        if op == "ExpandDims":
            return args[0].unsqueeze(int(args[1]))
        if op == "Squeeze":
            dims = attr_ints(node, "squeeze_dims")
            x = args[0]
            for d in sorted((d % x.dim() for d in dims), reverse=True):
                x = x.squeeze(d)
            return x
        if op == "Pack":
            axis = attr_int(node, "axis")
            return torch.stack(args, dim=axis)
        if op == "ConcatV2":
            return torch.cat(args[:-1], dim=int(args[-1]))
        if op == "Range":
            return torch.arange(int(args[0]), int(args[1]), int(args[2]), dtype=torch.int64)
        if op == "BroadcastTo":
            return args[0].expand([int(v) for v in args[1]]).contiguous()
        if op == "SelectV2":
            return torch.where(args[0], args[1], args[2])
        if op == "Sum":
            axes = [int(v) for v in args[1].reshape(-1)]
            keep = bool(node.get("attr", {}).get("keep_dims", {}).get("b", False))
            return args[0].sum(dim=axes, keepdim=keep) if axes else args[0]
        if op == "StridedSlice":
            return strided_slice(args[0], *[[int(v) for v in a] for a in args[1:4]], node)
        if op == "GatherV2":
            if attr_int(node, "batch_dims"):
                raise SystemExit(f"{node['name']}: batch_dims is not supported")
            return torch.index_select(args[0], int(args[2]), args[1].reshape(-1)).reshape(
                *args[0].shape[: int(args[2])], *args[1].shape, *args[0].shape[int(args[2]) + 1 :])
        if op == "Einsum":
            return einsum(attr_str(node, "equation"), *args)
        if op == "Conv2D":
            if attr_str(node, "data_format") != "NHWC" or set(attr_ints(node, "dilations")) != {1}:
                raise SystemExit(f"{node['name']}: only NHWC, undilated convolutions are supported")
            return conv2d_same(args[0], args[1], attr_ints(node, "strides")[1], attr_str(node, "padding"))
        if op == "Conv2DBackpropInput":
            return conv2d_backprop_input([int(v) for v in args[0]], args[1], args[2], attr_ints(node, "strides")[1], attr_str(node, "padding"))
        raise SystemExit(f"{node['name']}: op {op} is not supported")

    with torch.no_grad():
        return evaluate(output_name)


def main() -> None:
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    model_json, source, target, height, width = sys.argv[1:]
    torch.set_num_threads(2)
    image = torch.from_numpy(np.fromfile(source, dtype="<f4").reshape(1, int(height), int(width), 3).copy())
    output = run(Path(model_json), image)
    output.float().numpy().astype("<f4").tofile(target)


if __name__ == "__main__":
    main()
