"""pytest: real footage loaders (GoPro_Large, REDS-style folders, high-frame-rate videos),
train.py reading them from an experiment YAML, and evaluate.py --gopro's table."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from common import ROOT, save_model
from dsanet import DSANet, DSANetConfig
from real_data import gopro_sequences, real_batches, reds_sequences
from test_synth_device import texture_photo

TRAINING = ROOT / "training"


def write_png(path: Path, pixels: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(path)


def gopro_tree(root: Path, sequences: int = 2, frames: int = 3) -> None:
    """GoPro_Large's layout in miniature: <split>/<sequence>/{blur,blur_gamma,sharp}/<frame>.png,
    each blurred frame the sharp one's negative, so that a mismatched pair or crop shows."""
    for split in ("train", "test"):
        for s in range(sequences):
            for f in range(frames):
                sharp = texture_photo(72, 96, 100 * s + f)
                name = f"{f:06d}.png"
                write_png(root / split / f"GOPR0{s}_11_00" / "sharp" / name, sharp)
                write_png(root / split / f"GOPR0{s}_11_00" / "blur" / name, 255 - sharp)
                write_png(root / split / f"GOPR0{s}_11_00" / "blur_gamma" / name, 255 - sharp)


def test_gopro_clips_pair_blurred_and_sharp_frames_crop_for_crop(tmp_path: Path) -> None:
    gopro_tree(tmp_path)
    sequences = gopro_sequences(tmp_path, "train", "blur_gamma")
    assert [len(s) for s in sequences] == [3, 3]
    assert sequences[0][1][0].parent.name == "blur_gamma" and sequences[0][1][0].name == sequences[0][1][1].name
    blurred, sharp = next(real_batches({"source": "gopro", "root": str(tmp_path), "batch": 3, "frames": 2, "crop": 48}, seed=0))
    assert blurred.shape == sharp.shape == (3, 2, 3, 48, 48)
    assert torch.allclose(blurred + sharp, torch.ones_like(sharp))
    assert not torch.equal(sharp[:, 0], sharp[:, 1])  # consecutive frames, not one repeated


def test_reds_folders_and_the_errors_name_what_is_missing(tmp_path: Path) -> None:
    for f in range(2):
        sharp = texture_photo(64, 64, f)
        write_png(tmp_path / "train_sharp" / "000" / f"{f:08d}.png", sharp)
        write_png(tmp_path / "train_blur" / "000" / f"{f:08d}.png", 255 - sharp)
    assert len(reds_sequences(tmp_path / "train_blur", tmp_path / "train_sharp")[0]) == 2
    (tmp_path / "train_sharp" / "000" / "00000001.png").unlink()
    with pytest.raises(ValueError, match="1 frames have no sharp counterpart, first 00000001.png"):
        reds_sequences(tmp_path / "train_blur", tmp_path / "train_sharp")
    with pytest.raises(ValueError, match="GoPro_Large holds train/ and test/"):
        gopro_sequences(tmp_path, "train")
    with pytest.raises(ValueError, match="data.source must be"):
        real_batches({"source": "gopro2", "batch": 1, "frames": 1, "crop": 8}, 0)


def test_a_folder_of_high_frame_rate_videos(tmp_path: Path) -> None:
    for i, pattern in enumerate(("testsrc2", "smptebars")):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"{pattern}=size=64x48:rate=240:duration=0.15", "-c:v", "ffv1", str(tmp_path / f"clip{i}.mkv")],
            check=True,
        )
    batches = real_batches({"source": "videos", "folder": str(tmp_path), "exposure": 5, "batch": 4, "frames": 2, "crop": 32}, seed=1)
    blurred, sharp = next(batches)
    assert blurred.shape == sharp.shape == (4, 2, 3, 32, 32)
    with pytest.raises(ValueError, match="no videos"):
        next(real_batches({"source": "videos", "folder": str(tmp_path / "none"), "exposure": 5, "batch": 1, "frames": 1, "crop": 8}, 0))


def test_train_reads_gopro_from_the_yaml_and_evaluate_prints_the_gopro_table(tmp_path: Path) -> None:
    gopro_tree(tmp_path / "GOPRO_Large")
    experiment = {
        "name": "gopro-tiny",
        "model": {"type": "DSANet", "scales": 2, "channels": [8, 16, 16], "blocks": 1},
        "loss": {"type": "multiscale_loss", "fft_weight": 0.1},
        "data": {"source": "gopro", "root": str(tmp_path / "GOPRO_Large"), "crop": 32, "frames": 2, "batch": 2},
        "optim": {"type": "AdamW", "lr": 1e-3, "min_lr": 1e-6},
        "schedule": {"type": "constant"},
        "step": {"log_every": 1},
        "checkpoint_every": 2,
    }
    config = tmp_path / "gopro-tiny.yaml"
    config.write_text(yaml.safe_dump(experiment))
    env = {**os.environ, "DSANET_RUNS": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"}
    trained = subprocess.run([sys.executable, str(TRAINING / "train.py"), "--config", str(config), "--iterations", "2"], capture_output=True, text=True, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "frames of 32x32 from gopro;" in trained.stdout and "done: 2 iterations, 8 crops" in trained.stdout
    assert len((tmp_path / "runs" / "gopro-tiny" / "log.csv").read_text().splitlines()) == 3  # header and a row a step

    weights = tmp_path / "tiny.pt"
    save_model(DSANet(DSANetConfig(scales=2, channels=(8, 16, 16), blocks=1)), weights)
    scored = subprocess.run(
        [sys.executable, str(TRAINING / "evaluate.py"), "--weights", str(weights), "--gopro", str(tmp_path / "GOPRO_Large"), "--max-frames", "2"],
        capture_output=True, text=True, env=env,
    )
    assert scored.returncode == 0, scored.stdout + scored.stderr
    expected = np.mean([
        10 * math.log10(1 / float(((255 - 2 * texture_photo(72, 96, 100 * s + f).float()) / 255).pow(2).mean())) for s in range(2) for f in range(2)
    ])
    lines = scored.stdout.splitlines()
    assert "GoPro test split" in lines[0] and lines[1] == "| method | PSNR (dB) | SSIM |"
    assert lines[3].startswith(f"| blurred input | {expected:.2f} |")
    assert lines[4].startswith("| DSANet per frame |") and lines[5].startswith("| DSANet state carried |")
