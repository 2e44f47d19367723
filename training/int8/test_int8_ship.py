"""The shipped int8 graph is made from the shipped fp32 graph (training/int8/run.sh --ship), with
weights that every CPU's integer kernels take without overflow.

`--precision auto` runs models/dsanet-int8.onnx instead of models/dsanet.onnx on CPUs with VNNI,
AMX or AVX2, so new DSANet weights shipped without remaking it would never reach those users.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

MODELS = Path(__file__).resolve().parents[2] / "models"
QUANTIZED_FROM = "dsanet.quantized_from_sha256"  # written by qdq.py quantize


def test_int8_graph_is_made_from_the_shipped_dsanet() -> None:
    int8 = onnx.load(str(MODELS / "dsanet-int8.onnx"), load_external_data=False)
    metadata = {p.key: p.value for p in int8.metadata_props}
    shipped = hashlib.sha256((MODELS / "dsanet.onnx").read_bytes()).hexdigest()
    assert metadata.get(QUANTIZED_FROM) == shipped, (
        "models/dsanet-int8.onnx was not made from models/dsanet.onnx: remake it with training/int8/run.sh --ship")


def test_int8_weights_stay_within_63() -> None:
    # AVX2 (no VNNI) sums two uint8 x int8 products in 16 bits: 2 x 255 x 127 overflows, 2 x 255 x 63 does not (qdq.py).
    int8 = onnx.load(str(MODELS / "dsanet-int8.onnx"), load_external_data=False)
    weights = [numpy_helper.to_array(t) for t in int8.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 100
    assert max(int(np.abs(w.astype(np.int16)).max()) for w in weights) <= 63
