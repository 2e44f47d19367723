"""The shipped int8 graph is made from the shipped fp32 graph (training/int8/run.sh --ship).

`--precision auto` runs models/dsanet-int8.onnx instead of models/dsanet.onnx on CPUs with VNNI
or AMX, so new DSANet weights shipped without remaking it would never reach those users.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import onnx

MODELS = Path(__file__).resolve().parents[2] / "models"
QUANTIZED_FROM = "dsanet.quantized_from_sha256"  # written by qdq.py quantize


def test_int8_graph_is_made_from_the_shipped_dsanet() -> None:
    int8 = onnx.load(str(MODELS / "dsanet-int8.onnx"), load_external_data=False)
    metadata = {p.key: p.value for p in int8.metadata_props}
    shipped = hashlib.sha256((MODELS / "dsanet.onnx").read_bytes()).hexdigest()
    assert metadata.get(QUANTIZED_FROM) == shipped, (
        "models/dsanet-int8.onnx was not made from models/dsanet.onnx: remake it with training/int8/run.sh --ship")
