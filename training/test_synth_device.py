"""pytest: the on-device synthesizer against data.py's, its determinism, clips and JPEG pass."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from data import HEAVY, srgb_to_linear, synthesize_clip
from synth_device import DeviceSynth, JpegConfig, PhotoBank, dct_matrix, jpeg

CPU = torch.device("cpu")


def texture_photo(height: int, width: int, seed: int) -> torch.Tensor:
    """A deterministic photo-like texture as sRGB bytes (3, H, W): noise at three scales, so
    that blur removes detail at every scale, as it does in a real photo."""
    g = torch.Generator().manual_seed(seed)
    image = torch.zeros(1, 3, height, width)
    for cell in (4, 16, 64):
        noise = torch.rand(1, 3, height // cell + 1, width // cell + 1, generator=g)
        image += torch.nn.functional.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False) / 3
    return (image[0].clamp(0, 1) * 255).round().byte()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1 / max(float(((a - b) ** 2).mean()), 1e-12))


def test_device_synthesizer_blurs_as_much_as_data_py() -> None:
    # HEAVY's shake, rotation, moving objects, clipped highlights and sensor noise, at one
    # exposure and a narrow speed range: what is left of the spread between clips is what the
    # two synthesizers must share, and 256 clips each measure a mean to about 0.1 dB.
    blur = dataclasses.replace(HEAVY, exposures=(13,), camera_speed=(0.8, 1.0))
    photos = [texture_photo(420, 560, seed) for seed in range(3)]
    count, size = 256, 48
    g = torch.Generator().manual_seed(0)
    linear = [srgb_to_linear(p.float() / 255) for p in photos]
    reference = torch.tensor([psnr(*synthesize_clip(linear, 1, size, blur, g)) for _ in range(count)])
    blurred, sharp = DeviceSynth(PhotoBank(photos, CPU), 1, size, blur, seed=0).batch(count)
    device = torch.tensor([psnr(b, s) for b, s in zip(blurred, sharp)])
    assert abs(float(device.mean() - reference.mean())) < 0.3, (float(device.mean()), float(reference.mean()))
    assert 0.7 < float(device.std() / reference.std()) < 1.4, (float(device.std()), float(reference.std()))


def test_device_synthesizer_is_deterministic_per_seed_and_makes_clips() -> None:
    bank = PhotoBank([texture_photo(300, 400, 0)], CPU)
    make = lambda seed: DeviceSynth(bank, 3, 32, HEAVY, seed).batch(4)  # noqa: E731
    (blurred, sharp), (again, sharp_again), (other, _) = make(1), make(1), make(2)
    assert blurred.shape == sharp.shape == (4, 3, 3, 32, 32)
    assert torch.equal(blurred, again) and torch.equal(sharp, sharp_again)
    assert not torch.equal(blurred, other)
    assert torch.equal(blurred * 255, (blurred * 255).round())  # 8-bit values
    # A clip's frames follow one trajectory: consecutive sharp frames differ, but less than
    # frames of different clips do.
    step = (sharp[:, 1] - sharp[:, 0]).abs().mean()
    across = (sharp[1:, 0] - sharp[:-1, 0]).abs().mean()
    assert 0 < step < across


def test_dct_is_orthonormal_and_jpeg_degrades_with_quality() -> None:
    d = dct_matrix(CPU)
    assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-6)
    images = texture_photo(64, 64, 1).float()[None] / 255
    near = jpeg(images, torch.tensor([100.0]))
    far = jpeg(images, torch.tensor([10.0]))
    assert psnr(near, images) > 35 > 30 > psnr(far, images) > 20  # 4:2:0 chroma costs ~2 dB at 100
    # Quantised 8x8 blocks: at low quality the steps across block edges stand out.
    inside = (far[..., 1:] - far[..., :-1]).abs()[..., [c for c in range(63) if c % 8 != 7]].mean()
    edges = (far[..., 1:] - far[..., :-1]).abs()[..., 7::8].mean()
    assert edges > 1.2 * inside


def test_jpeg_fraction_compresses_only_the_input() -> None:
    bank = PhotoBank([texture_photo(300, 400, 0)], CPU)
    blur = dataclasses.replace(HEAVY, shot_noise=0.0, read_noise=0.0)
    plain_blurred, plain_sharp = DeviceSynth(bank, 1, 32, blur, 4).batch(3)
    blurred, sharp = DeviceSynth(bank, 1, 32, blur, 4, JpegConfig(1.0, (20, 20))).batch(3)
    assert torch.equal(sharp, plain_sharp)
    assert not torch.equal(blurred, plain_blurred)
    assert torch.equal(blurred, jpeg(plain_blurred.flatten(0, 1), torch.full((3,), 20.0)).view_as(blurred))


def test_photos_too_small_for_the_blur_are_refused() -> None:
    bank = PhotoBank([texture_photo(64, 64, 0)], CPU)
    with pytest.raises(ValueError, match="no photo is large enough"):
        DeviceSynth(bank, 1, 48, HEAVY, 0)
