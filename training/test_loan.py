"""pytest: a GPU loan's whole path (training/gpu.sh -> loan.py -> train.py, evaluate.py,
export.py) dry-run on the CPU with the real loan plan, so that a loan never dies on an import
or a path."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import torch
from PIL import Image

from common import ROOT
from photos import TEST, TRAIN, copied
from test_synth_device import texture_photo

PLAN = ROOT / "training" / "experiments" / "loan-recipes.yaml"


def write_photos(folder: Path) -> None:
    """Small textured stand-ins under every name the loan reads (the Debian photos are not
    needed for the path): large enough for the heavy split's 64x64 views."""
    folder.mkdir()
    for i, path in enumerate(copied(TRAIN + TEST, str(folder))):
        pixels = texture_photo(320, 400, i).permute(1, 2, 0).numpy()
        Image.fromarray(pixels).save(path, quality=95)


def test_loan_dry_run_trains_scores_exports_and_packs_within_the_tool_limits(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos")
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", str(ROOT / "training" / "gpu.sh"), str(PLAN), "--photo-dir", str(tmp_path / "photos"), "--out", str(out), "--work", str(tmp_path / "work"), "--dry-run"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    files = sorted(out.iterdir())
    assert len(files) <= 8 and sum(f.stat().st_size for f in files) <= 64 << 20
    assert all(f.stat().st_size <= 16 << 20 and not f.name.endswith(".tmp") for f in files)
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["runs"]) == {"dsanet-gpu-from-shipped", "dsanet-gpu-scaled", "dsanet-gpu-clips"}
    assert not scores["failures"]
    for name, run in scores["runs"].items():
        assert run["exit"] == 0 and run["onnx"] is None, name  # the dry run skips the export
        assert "done: 3 iterations" in run["training"], run["training"]
        for split in ("mild", "heavy"):
            assert 10 < run["scores"][split]["DSANet state carried"]["psnr"] < 60

    # The clip phase started from the phase-1 run that scored best on heavy, with its design.
    phase1 = {n: scores["runs"][n]["scores"]["heavy"]["DSANet state carried"]["psnr"] for n in ("dsanet-gpu-from-shipped", "dsanet-gpu-scaled")}
    best = max(phase1, key=phase1.__getitem__)
    assert scores["runs"]["dsanet-gpu-clips"]["init"].endswith(f"{best}/model.pt")

    bundle = b"".join(p.read_bytes() for p in sorted(out.glob("bundle.tar.part-*")))
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        members = set(tar.getnames())
        clips = torch.load(io.BytesIO(tar.extractfile("dsanet-gpu-clips/model.pt").read()), map_location="cpu")
    assert {f"{n}/model.pt" for n in scores["runs"]} <= members
    assert members == set(scores["bundle"])
    expected_block = "plain" if best == "dsanet-gpu-from-shipped" else "scaled"
    assert clips["config"]["block"] == expected_block and clips["iteration"] == 3
