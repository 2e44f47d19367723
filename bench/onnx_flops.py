"""FLOPs of one run of an ONNX graph of fixed size: 2 x the multiply-adds of its Conv,
ConvTranspose and MatMul nodes (as training/dsanet.py's count_flops counts DSANet), from
ONNX shape inference. Element-wise work is left out.

    python3 bench/onnx_flops.py GRAPH.onnx      e.g. models/dsanet.onnx, or a MAXIM graph of
    python3 bench/onnx_flops.py ~/.cache/dsanet/maxim-0.1.0-r2-640x384.onnx    revision 2

The converter's later graphs hold onnxruntime's own ops (FastGelu, SkipLayerNormalization),
where ONNX shape inference stops: everything after them counts as unknown. For those,
bench/maxim-profile.ts counts the products from the shapes onnxruntime ran.
"""
from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import shape_inference


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    graph = shape_inference.infer_shapes(onnx.load(sys.argv[1])).graph
    shapes: dict[str, list[int]] = {t.name: list(t.dims) for t in graph.initializer}
    for value in [*graph.value_info, *graph.input, *graph.output]:
        # A named dimension (the batch) counts as 1.
        shapes[value.name] = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
    flops = {"Conv": 0, "ConvTranspose": 0, "MatMul": 0}
    unknown = 0
    for node in graph.node:
        if node.op_type not in flops:
            continue
        x, w, y = shapes.get(node.input[0]), shapes.get(node.input[1]), shapes.get(node.output[0])
        if not x or not w or not y:
            unknown += 1
        elif node.op_type == "MatMul":
            flops["MatMul"] += 2 * int(np.prod(y)) * x[-1]
        elif node.op_type == "Conv":
            flops["Conv"] += 2 * int(np.prod(y)) * int(np.prod(w[1:]))
        else:  # each input element is scattered into out_channels x kh x kw outputs
            flops["ConvTranspose"] += 2 * int(np.prod(x)) * int(np.prod(w[1:]))
    print(", ".join(f"{op} {v / 1e9:.1f} G" for op, v in flops.items()), f"| total {sum(flops.values()) / 1e9:.1f} GFLOPs", f"({unknown} nodes of unknown shape left out)" if unknown else "")


if __name__ == "__main__":
    main()
