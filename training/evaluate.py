"""PSNR and SSIM on the held-out splits (clips from photos never trained on).

    python3 training/evaluate.py [--weights models/dsanet.pt] [--split heavy] [--json out.json] [--figure out.png]

Two splits of the same photos: "mild" (5-13 averaged frames: the split the first models were
measured on) and "heavy" (15-25 frames, shake, rotation, moving objects, clipped highlights,
sensor noise: data.HEAVY). Rows: the blurred input; an unsharp mask tuned on training clips
of the same blur (the classical baseline); DSANet per frame (state reset every frame); DSANet
with the ConvLSTM state carried through each clip, as the video pipeline runs it. PSNR is the
mean of per-frame PSNRs.
"""
from __future__ import annotations

import argparse
import json
import math
from itertools import product

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from common import MODELS, device, load_model
from data import HEAVY, BlurConfig, test_clips
from dsanet import DSANet
from photos import TEST, TRAIN

CLIPS, FRAMES, SIZE = 24, 4, 256
SPLITS = {"mild": BlurConfig(), "heavy": HEAVY}


def psnr(a: Tensor, b: Tensor) -> float:
    return 10 * math.log10(1 / max(F.mse_loss(a, b).item(), 1e-12))


def _gaussian_window(size: int, sigma: float) -> Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_blur(x: Tensor, sigma: float, size: int = 11) -> Tensor:
    """Separable Gaussian, reflect-padded. x: (N, C, H, W)."""
    g = _gaussian_window(size, sigma).to(x)
    c = x.shape[1]
    x = F.pad(x, (size // 2,) * 4, mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, size), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, size, 1), groups=c)


def ssim(a: Tensor, b: Tensor) -> float:
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, on each RGB channel, averaged.
    a, b: (N, 3, H, W) in [0, 1]; the 'valid' part of the window only, as the reference code."""
    a, b = a.double(), b.double()
    c1, c2 = 0.01**2, 0.03**2
    g = _gaussian_window(11, 1.5)
    kernel = (g[:, None] * g[None, :]).expand(a.shape[1], 1, 11, 11).to(a)

    def filt(x: Tensor) -> Tensor:
        return F.conv2d(x, kernel, groups=a.shape[1])

    mu_a, mu_b = filt(a), filt(b)
    var_a, var_b, cov = filt(a * a) - mu_a**2, filt(b * b) - mu_b**2, filt(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return value.mean().item()


def unsharp(x: Tensor, sigma: float, amount: float) -> Tensor:
    return (x + amount * (x - gaussian_blur(x, sigma))).clamp(0, 1)


def tune_unsharp(clips: list[tuple[Tensor, Tensor]]) -> tuple[float, float]:
    """Grid search of the unsharp mask's radius and amount for PSNR on training clips."""
    blurred = torch.cat([b for b, _ in clips])
    sharp = torch.cat([s for _, s in clips])
    grid = product((0.6, 1.0, 1.5, 2.0, 3.0, 4.0), (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0))
    return max(grid, key=lambda p: psnr(unsharp(blurred, *p), sharp))


@torch.no_grad()
def deblur_clip(model: DSANet, blurred: Tensor, carry_state: bool, dev: torch.device) -> Tensor:
    """blurred: (T, 3, H, W) -> (T, 3, H, W), one frame at a time as the pipeline does."""
    state, out = None, []
    for frame in blurred:
        restored, new_state = model(frame[None].to(dev), state)
        state = new_state if carry_state else None
        out.append(restored[-1].clamp(0, 1).cpu())
    return torch.cat(out)


def scores(pairs: list[tuple[Tensor, Tensor]]) -> dict[str, float]:
    return {
        "psnr": float(np.mean([psnr(p, s) for p, s in pairs])),
        "ssim": float(np.mean([ssim(p, s) for p, s in pairs])),
    }


def evaluate(model: DSANet, dev: torch.device, blur: BlurConfig, clips: int = CLIPS) -> dict[str, dict[str, float]]:
    held_out = test_clips(TEST, clips, FRAMES, SIZE, blur)
    sigma, amount = tune_unsharp(test_clips(TRAIN[::4], 16, 1, SIZE, blur, seed=7))
    model = model.to(dev).eval()
    return {
        "blurred input": scores([(b, s) for b, s in held_out]),
        f"unsharp mask (sigma {sigma}, amount {amount})": scores([(unsharp(b, sigma, amount), s) for b, s in held_out]),
        "DSANet per frame": scores([(deblur_clip(model, b, False, dev), s) for b, s in held_out]),
        "DSANet state carried": scores([(deblur_clip(model, b, True, dev), s) for b, s in held_out]),
    }


def side_by_side(model: DSANet, dev: torch.device, blur: BlurConfig, path: str, count: int = 3) -> None:
    """Blurred | DSANet (state carried) | sharp, for the last frame of a few held-out clips."""
    rows = []
    for blurred, sharp in test_clips(TEST, count, FRAMES, SIZE, blur, seed=11):
        restored = deblur_clip(model, blurred, True, dev)
        rows.append(torch.cat([blurred[-1], restored[-1], sharp[-1]], 2))
    image = torch.cat(rows, 1).permute(1, 2, 0).mul(255).round().byte().numpy()
    Image.fromarray(image).save(path)


def markdown(results: dict[str, dict[str, float]]) -> str:
    lines = ["| method | PSNR (dB) | SSIM |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {r['psnr']:.2f} | {r['ssim']:.4f} |" for name, r in results.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(MODELS / "dsanet.pt"))
    parser.add_argument("--scales", type=int, help="run the shared scale network with this K")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--clips", type=int, default=CLIPS, help=f"held-out clips of {FRAMES} frames")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--figure", help="write a blurred | deblurred | sharp PNG of each split here (the split's name is inserted)")
    args = parser.parse_args()
    dev = device()
    model = load_model(args.weights, args.scales).to(dev)
    results = {}
    for name, blur in SPLITS.items():
        if args.split not in (name, "all"):
            continue
        results[name] = evaluate(model, dev, blur, args.clips)
        print(f"{args.weights} (scales={model.scales}), {name} split: {args.clips} held-out clips x {FRAMES} frames, {SIZE}x{SIZE}")
        print(markdown(results[name]), flush=True)
        if args.figure:
            side_by_side(model, dev, blur, args.figure.replace(".png", f"-{name}.png"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
