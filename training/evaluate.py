"""PSNR and SSIM on the held-out splits (clips from photos never trained on).

    python3 training/evaluate.py [--weights models/dsanet.onnx] [--split heavy] [--json out.json] [--figure out.png]
    python3 training/evaluate.py --gopro GOPRO_Large [--gopro-blur blur_gamma] [--max-frames 20]

Three splits of the same photos: "mild" (5-13 averaged frames: the split the first models were
measured on), "heavy" (15-25 frames, shake, rotation, moving objects, clipped highlights,
sensor noise: data.HEAVY) and "soft" (mild blur over scenes out of focus, data.defocused).
Rows: the blurred input; an unsharp mask tuned on training clips of the same blur (the
classical baseline); DSANet per frame (state reset every frame); DSANet with the ConvLSTM
state carried through each clip, as the video pipeline runs it. PSNR is the
mean of per-frame PSNRs.

--gopro DIR scores GoPro_Large's test split instead (real blur, full 1280x720 frames, every
sequence in order with the state carried), in the form of the papers' tables.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from itertools import product

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from common import MODELS, device, load_model
from data import HEAVY, BlurConfig, test_clips
from dsanet import DSANet, pad_to_stride
from photos import TEST, TRAIN, copied
from real_data import gopro_sequences, read_frame

CLIPS, FRAMES, SIZE = 24, 4, 256
# "soft": the mild split's blur over scenes wholly out of focus (flat crops kept), where the
# truth is as smooth as the input: a network that takes every smooth edge for blur loses here.
SPLITS = {"mild": BlurConfig(), "heavy": HEAVY, "soft": BlurConfig(defocus=1.0, min_detail=0.0)}


def psnr(a: Tensor, b: Tensor) -> float:
    return 10 * math.log10(1 / max(F.mse_loss(a, b).item(), 1e-12))


def _gaussian_window(size: int, sigma: float) -> Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _band(length: int, window: Tensor) -> Tensor:
    """(length, length - len(window) + 1): `x @ band` correlates x's last axis with `window`
    over the positions where it fits whole."""
    out = torch.arange(length - len(window) + 1)
    band = torch.zeros(length, len(out), dtype=window.dtype)
    for offset, weight in enumerate(window):
        band[out + offset, out] = weight
    return band


def separable_filter(x: Tensor, window: Tensor) -> Tensor:
    """x (..., H, W) filtered by window x window where it fits whole ('valid'), as two matrix
    products: over (4, 3, 256, 256) in float64, one thread of the AVX-512 EPYC, 40 ms against
    2.2 s for torch 1.13's depthwise conv2d with the 11x11 window (a Lite's held-out split had
    taken 15 minutes, nearly all of it in SSIM and the unsharp search)."""
    h, w = x.shape[-2:]
    x = x @ _band(w, window).to(x)
    return (x.transpose(-1, -2) @ _band(h, window).to(x)).transpose(-1, -2)


def gaussian_blur(x: Tensor, sigma: float, size: int = 11) -> Tensor:
    """Separable Gaussian, reflect-padded. x: (N, C, H, W)."""
    return separable_filter(F.pad(x, (size // 2,) * 4, mode="reflect"), _gaussian_window(size, sigma))


def ssim(a: Tensor, b: Tensor) -> float:
    """SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, on each RGB channel, averaged.
    a, b: (N, 3, H, W) in [0, 1]; the 'valid' part of the window only, as the reference code."""
    a, b = a.double(), b.double()
    c1, c2 = 0.01**2, 0.03**2
    window = _gaussian_window(11, 1.5)

    def filt(x: Tensor) -> Tensor:
        return separable_filter(x, window)

    mu_a, mu_b = filt(a), filt(b)
    var_a, var_b, cov = filt(a * a) - mu_a**2, filt(b * b) - mu_b**2, filt(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return value.mean().item()


def unsharp(x: Tensor, sigma: float, amount: float, soft: Tensor | None = None) -> Tensor:
    """x sharpened by `amount` of what a Gaussian of `sigma` takes away (soft: that blur, if made already)."""
    soft = gaussian_blur(x, sigma) if soft is None else soft
    return (x + amount * (x - soft)).clamp(0, 1)


def tune_unsharp(clips: list[tuple[Tensor, Tensor]]) -> tuple[float, float]:
    """Grid search of the unsharp mask's radius and amount for PSNR on training clips."""
    blurred = torch.cat([b for b, _ in clips])
    sharp = torch.cat([s for _, s in clips])
    soft = {sigma: gaussian_blur(blurred, sigma) for sigma in (0.6, 1.0, 1.5, 2.0, 3.0, 4.0)}
    grid = product(soft, (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0))
    return max(grid, key=lambda p: psnr(unsharp(blurred, *p, soft=soft[p[0]]), sharp))


@torch.no_grad()
def deblur_clip(model: DSANet, blurred: Tensor, carry_state: bool, dev: torch.device) -> Tensor:
    """blurred: (T, 3, H, W) -> (T, 3, H, W), one frame at a time as the pipeline does; any
    size (padded to the model's stride and cropped back)."""
    state, out = None, []
    for frame in blurred:
        padded, (h, w) = pad_to_stride(frame[None].to(dev), model.stride)
        restored, new_state = model(padded, state)
        state = new_state if carry_state else None
        out.append(restored[-1][..., :h, :w].clamp(0, 1).cpu())
    return torch.cat(out)


def scores(pairs: list[tuple[Tensor, Tensor]]) -> dict[str, float]:
    return {
        "psnr": float(np.mean([psnr(p, s) for p, s in pairs])),
        "ssim": float(np.mean([ssim(p, s) for p, s in pairs])),
    }


def evaluate(
    model: DSANet, dev: torch.device, blur: BlurConfig, clips: int = CLIPS, photo_dir: str | None = None, size: int = SIZE
) -> dict[str, dict[str, float]]:
    test, train = (copied(TEST, photo_dir), copied(TRAIN, photo_dir)) if photo_dir else (TEST, TRAIN)
    held_out = test_clips(test, clips, FRAMES, size, blur)
    sigma, amount = tune_unsharp(test_clips(train[::4], 16, 1, size, blur, seed=7))
    model = model.to(dev).eval()
    return {
        "blurred input": scores([(b, s) for b, s in held_out]),
        f"unsharp mask (sigma {sigma}, amount {amount})": scores([(unsharp(b, sigma, amount), s) for b, s in held_out]),
        "DSANet per frame": scores([(deblur_clip(model, b, False, dev), s) for b, s in held_out]),
        "DSANet state carried": scores([(deblur_clip(model, b, True, dev), s) for b, s in held_out]),
    }


def evaluate_gopro(model: DSANet, dev: torch.device, root: str, blur_folder: str, max_frames: int | None) -> dict[str, dict[str, float]]:
    """GoPro_Large's test split: every sequence from its first frame (at most `max_frames` of
    each), the state carried through the sequence as the video pipeline carries it."""
    model = model.to(dev).eval()
    pairs: dict[str, list[tuple[Tensor, Tensor]]] = {"blurred input": [], "DSANet per frame": [], "DSANet state carried": []}
    for sequence in gopro_sequences(root, "test", blur_folder):
        sequence = sequence[:max_frames]
        blurred = torch.stack([read_frame(b) for b, _ in sequence])
        sharp = torch.stack([read_frame(s) for _, s in sequence])
        for name, output in (
            ("blurred input", blurred),
            ("DSANet per frame", deblur_clip(model, blurred, False, dev)),
            ("DSANet state carried", deblur_clip(model, blurred, True, dev)),
        ):
            pairs[name] += [(o[None], s[None]) for o, s in zip(output, sharp)]
    return {name: scores(p) for name, p in pairs.items()}


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
    parser.add_argument("--weights", default=str(MODELS / "dsanet.onnx"))
    parser.add_argument("--scales", type=int, help="run the shared scale network with this K")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--clips", type=int, default=CLIPS, help=f"held-out clips of {FRAMES} frames")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--figure", help="write a blurred | deblurred | sharp PNG of each split here (the split's name is inserted)")
    parser.add_argument("--photo-dir", help="the photos copied flat into this folder (photos.copied), for a machine without the Debian packages")
    parser.add_argument("--size", type=int, default=SIZE, help="held-out crop size")
    parser.add_argument("--gopro", metavar="DIR", help="score GoPro_Large's test split under DIR instead of the held-out photos")
    parser.add_argument("--gopro-blur", choices=["blur", "blur_gamma"], default="blur", help="GoPro's blurred frames: blur (the usual benchmark) or blur_gamma")
    parser.add_argument("--max-frames", type=int, help="with --gopro: at most this many frames of each sequence")
    args = parser.parse_args()
    dev = device()
    model = load_model(args.weights, args.scales).to(dev)
    results = {}
    if args.gopro:
        results["gopro"] = evaluate_gopro(model, dev, args.gopro, args.gopro_blur, args.max_frames)
        print(f"{args.weights} (scales={model.scales}), GoPro test split ({args.gopro}, {args.gopro_blur}"
              f"{f', first {args.max_frames} frames of each sequence' if args.max_frames else ''})")
        print(markdown(results["gopro"]), flush=True)
    for name, blur in SPLITS.items():
        if args.gopro or args.split not in (name, "all"):
            continue
        results[name] = evaluate(model, dev, blur, args.clips, args.photo_dir, args.size)
        print(f"{args.weights} (scales={model.scales}), {name} split: {args.clips} held-out clips x {FRAMES} frames, {args.size}x{args.size}")
        print(markdown(results[name]), flush=True)
        if args.figure:
            side_by_side(model, dev, blur, args.figure.replace(".png", f"-{name}.png"))
    if args.json:
        partial = f"{args.json}.tmp"
        with open(partial, "w") as f:
            json.dump(results, f, indent=2)
        os.replace(partial, args.json)


if __name__ == "__main__":
    main()
