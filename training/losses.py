"""Losses of the paper: at every scale, MSE plus mu times FFT-MSE, mu = 0.1 (deep supervision)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def per_image_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of each image. pred, target: (B, C, H, W) -> (B,)."""
    return (pred - target).pow(2).flatten(1).mean(1)


def per_image_fft_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of each image's 2-D FFT: mean over (C, H, W) of |FFT(pred) - FFT(target)|^2.
    pred, target: (B, C, H, W) -> (B,).

    With the orthonormal FFT over the whole spectrum, Parseval's theorem makes this equal to the
    pixel MSE, so the paper's total is (1 + mu) * MSE per scale. We keep the term as the paper
    writes it (a test pins the identity down) rather than silently change the paper's loss; a
    frequency-weighted variant would be a new experiment.
    """
    diff = torch.fft.fft2(pred - target, norm="ortho")
    return (diff.real**2 + diff.imag**2).flatten(1).mean(1)


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the batch. pred, target: (B, C, H, W)."""
    return per_image_mse(pred, target).mean()


def fft_mse(pred: Tensor, target: Tensor) -> Tensor:
    """per_image_fft_mse over the batch. pred, target: (B, C, H, W)."""
    return per_image_fft_mse(pred, target).mean()


def per_image_colour_error(pred: Tensor, target: Tensor) -> Tensor:
    """Squared difference of each image's mean colour, averaged over channels. (B, C, H, W) -> (B,)."""
    return (pred.mean((2, 3)) - target.mean((2, 3))).pow(2).mean(1)


def loss_terms(loss: dict) -> dict:
    """An experiment's `loss:` section as multiscale_loss's keyword arguments (fft_weight, pixel,
    colour_weight), for Step and train_step to pass on as they are."""
    terms = {key: value for key, value in loss.items() if key != "type"}
    if loss.get("type", "multiscale_loss") != "multiscale_loss":
        raise ValueError(f"loss.type: {loss['type']!r}; the one loss is multiscale_loss")
    unknown = set(terms) - {"fft_weight", "pixel", "colour_weight"}
    if unknown:
        raise ValueError(f"loss: unknown {', '.join(sorted(unknown))}; multiscale_loss takes fft_weight, pixel, colour_weight")
    return terms


def multiscale_loss(restored: list[Tensor], sharp: Tensor, fft_weight: float = 0.1, pixel: str = "mse", colour_weight: float = 0.0) -> Tensor:
    """Sum over scales of MSE + fft_weight * FFT-MSE against the sharp image at that scale.

    restored: the network's outputs, coarse to fine, each (B, 3, H / 2^k, W / 2^k).
    sharp: (B, 3, H, W), the ground truth at full resolution.
    pixel: "mse", the paper's; or "psnr", the same term per image on a log scale (10 log10 of
    it: NAFNet's PSNR loss), so that each image counts by its dB and the nearly flat, easy crops
    do not vanish beside the hard ones.
    colour_weight: adds this times per_image_colour_error at the finest scale. A brightness bias
    of half a level costs MSE only 4e-6, a thousandth of a crop's loss, so the networks kept
    one: blur in linear light brightens a frame in sRGB (the held-out splits' inputs are 1.8-3.1
    levels over their truth), they learnt to darken what they see, and darkened sharp video too
    (Lite: 0.36 of a level of red on samples/pedestrians.mp4). Weighted, the mean is learnt for itself.
    """
    total = sharp.new_zeros(())
    for image in restored:
        image = image.float()  # under bf16 autocast: the FFT has no bf16 kernels, and 1e-8 needs fp32
        target = F.adaptive_avg_pool2d(sharp, image.shape[-2:]) if image.shape != sharp.shape else sharp
        # The FFT term equals the pixel MSE (Parseval: per_image_fft_mse, pinned by a test), so it
        # enters as such: the paper's loss without two FFTs and their backward a scale, which
        # were 6% of a bf16 training step on the CPU (training/bench_step.py).
        per_image = (1 + fft_weight) * per_image_mse(image, target)
        if colour_weight and image.shape == sharp.shape:
            per_image = per_image + colour_weight * per_image_colour_error(image, target)
        total = total + (10 * torch.log10(per_image + 1e-8) if pixel == "psnr" else per_image).mean()
    return total
