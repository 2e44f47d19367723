"""pytest: the model's shapes, the loss's values, a training step, the ONNX export."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import pytest
import torch

from common import ONNX_CONFIG_KEY, load_experiment, load_model
from dsanet import DSANet, DSANetConfig, count_flops, pad_to_stride
from export import export_onnx
from losses import fft_mse, loss_terms, mse, multiscale_loss
from step import train_step

TINY = DSANetConfig(channels=(8, 16, 32), blocks=1)

@pytest.mark.parametrize("scales", [1, 2, 3])
def test_outputs_at_every_scale(scales: int) -> None:
    model = DSANet(DSANetConfig(scales=scales, channels=(8, 16, 32), blocks=1))
    x = torch.rand(2, 3, 64, 96)
    restored, (h, c) = model(x)
    assert [r.shape[-2:] for r in restored] == [(64 >> k, 96 >> k) for k in reversed(range(scales))]
    assert h.shape == c.shape == (2, 32, 8, 12)
    # The carried state feeds the next frame and changes its output.
    again, _ = model(x, (h, c))
    assert not torch.allclose(again[-1], restored[-1])

def test_full_size_model_matches_design() -> None:
    model = DSANet()
    assert model.stride == 32
    assert 4_000_000 < sum(p.numel() for p in model.parameters()) < 5_000_000
    assert count_flops(model, 256, 256) > 20e9

def test_pad_to_stride_pads_and_remembers_size() -> None:
    x, size = pad_to_stride(torch.rand(1, 3, 70, 33), 32)
    assert x.shape[-2:] == (96, 64) and size == (70, 33)

def test_fft_mse_of_identical_images_is_zero() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert fft_mse(x, x).item() == 0

def test_fft_mse_of_a_shifted_impulse() -> None:
    # By hand: the orthonormal 8x8 FFT of an impulse is 1/8 everywhere; shifting it one pixel
    # multiplies bin k by exp(-2 pi i k / 8), so |difference|^2 = (2 - 2 cos(2 pi k / 8)) / 64,
    # whose mean over the 64 bins is 2 / 64.
    a = torch.zeros(1, 1, 8, 8)
    b = torch.zeros(1, 1, 8, 8)
    a[0, 0, 0, 0] = 1
    b[0, 0, 0, 1] = 1
    assert fft_mse(a, b).item() == pytest.approx(2 / 64, rel=1e-6)

def test_fft_mse_equals_pixel_mse_by_parseval() -> None:
    a, b = torch.rand(2, 3, 12, 20), torch.rand(2, 3, 12, 20)
    assert fft_mse(a, b).item() == pytest.approx(mse(a, b).item(), rel=1e-5)

def test_multiscale_loss_supervises_every_scale() -> None:
    sharp = torch.rand(1, 3, 32, 32)
    perfect = [torch.nn.functional.avg_pool2d(sharp, 4), torch.nn.functional.avg_pool2d(sharp, 2), sharp]
    assert multiscale_loss(perfect, sharp).item() == pytest.approx(0, abs=1e-10)
    off_coarse = [perfect[0] + 0.1, perfect[1], perfect[2]]
    assert multiscale_loss(off_coarse, sharp).item() == pytest.approx(1.1 * 0.01, rel=1e-4)

def test_one_training_step_lowers_the_loss() -> None:
    torch.manual_seed(0)
    model = DSANet(TINY)
    blurred, sharp = torch.rand(2, 2, 3, 32, 32), torch.rand(2, 2, 3, 32, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = train_step(model, blurred, sharp)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = train_step(model, blurred, sharp)
    assert after.item() < before.item()

@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[DSANet, Path]:
    """An untrained TINY model and its ONNX export, made once: an export traces for a minute."""
    model = DSANet(TINY).eval()
    path = tmp_path_factory.mktemp("export") / "tiny.onnx"
    assert export_onnx(model, path) == []
    return model, path


def test_onnx_export_has_dynamic_size_and_state(tiny_export: tuple[DSANet, Path], tmp_path: Path) -> None:
    model, path = tiny_export
    dims = lambda values: {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    state = ["batch", 32, "state_height", "state_width"]
    assert dims(graph.graph.input) == {"rgb": ["batch", "height", "width", 3], "h": state, "c": state}
    assert dims(graph.graph.output)["rgb_out"] == ["batch", "height", "width", 3]
    assert [o.name for o in graph.graph.output] == ["rgb_out", "h_out", "c_out"]
    export_onnx(model, tmp_path / "float.onnx", pixels=False)
    floats = onnx.load(str(tmp_path / "float.onnx"))
    assert dims(floats.graph.input) == {"frame": ["batch", 3, "height", "width"], "h": state, "c": state}
    assert [o.name for o in floats.graph.output] == ["sharp", "h_out", "c_out"]


def test_the_onnx_export_alone_rebuilds_the_model(tiny_export: tuple[DSANet, Path]) -> None:
    model, path = tiny_export
    loaded = load_model(path)
    assert loaded.config == model.config
    # Every weight by its own name: the transposed convs' biases (renamed by constant folding)
    # and the untrained model's equal zero biases (kept once by the exporter) too.
    expected = model.state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in loaded.state_dict().items())
    x = torch.rand(1, 3, 32, 64)
    with torch.no_grad():
        (ours, (h, _)), (theirs, (h2, _)) = model(x), loaded(x)
    assert torch.equal(ours[-1], theirs[-1]) and torch.equal(h, h2)


def test_the_deadzone_drops_corrections_within_it_and_takes_it_off_the_others(tmp_path: Path) -> None:
    plain = DSANet(TINY).eval()
    x = torch.rand(1, 3, 32, 64)
    with torch.no_grad():
        correction = plain(x)[0][-1] - x
    levels = float(correction.abs().median()) * 255  # half the corrections fall within it
    zoned = DSANet(dataclasses.replace(TINY, deadzone=levels)).eval()
    zoned.load_state_dict(plain.state_dict())
    with torch.no_grad():
        zoned_correction = zoned(x)[0][-1] - x
    within = correction.abs() <= levels / 255
    assert within.any() and (~within).any()
    assert torch.all(zoned_correction[within].abs() < 1e-6)
    expected = correction[~within] - torch.sign(correction[~within]) * levels / 255
    assert torch.allclose(zoned_correction[~within], expected, atol=1e-6)
    # It travels in the exported file's config (test/engine/engines.test.ts runs the graph itself).
    path = tmp_path / "zoned.onnx"
    export_onnx(zoned, path, pixels=False)
    loaded = load_model(path)
    assert loaded.config.deadzone == levels
    with torch.no_grad():
        assert torch.equal(loaded(x)[0][-1], zoned(x)[0][-1])


def test_the_loader_refuses_an_onnx_file_that_cannot_rebuild_the_model(tiny_export: tuple[DSANet, Path], tmp_path: Path) -> None:
    _, path = tiny_export
    graph = onnx.load(str(path))
    lacking = [t for t in graph.graph.initializer if t.name != "net.output.to_mask.weight"]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(lacking)
    onnx.save(graph, str(tmp_path / "lacking.onnx"))
    with pytest.raises(ValueError, match=r"lacking\.onnx: lacks 1 of the \d+ weights its config needs \(net\.output\.to_mask\.weight\)"):
        load_model(tmp_path / "lacking.onnx")
    del graph.metadata_props[:]
    onnx.save(graph, str(tmp_path / "old.onnx"))
    with pytest.raises(ValueError, match=rf"old\.onnx: no {ONNX_CONFIG_KEY} in its metadata"):
        load_model(tmp_path / "old.onnx")


def test_exported_scaled_blocks_fold_their_scale_into_the_conv() -> None:
    from export import fold_residual_scales

    torch.manual_seed(3)
    model = DSANet(DSANetConfig(channels=(8, 16, 16), blocks=1, scales=2, block="scaled", bottleneck_norm=True)).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.2)
    folded = fold_residual_scales(model)
    assert not any("scale" in name for name, _ in folded.named_parameters())
    # What the ONNX file says it is, and what load_model builds from it: the plain network.
    assert folded.config.block == "plain"
    DSANet(folded.config).load_state_dict(folded.state_dict())
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.allclose(folded(x)[0][-1], model(x)[0][-1], atol=1e-4)


def test_synthesized_clips_are_deterministic_and_blurred() -> None:
    from data import BlurConfig, synthesize_clip

    photo = srgb_texture(400)
    make = lambda: synthesize_clip([photo], 3, 64, BlurConfig(min_detail=0), torch.Generator().manual_seed(3))  # noqa: E731
    (blurred, sharp), (again, _) = make(), make()
    assert blurred.shape == sharp.shape == (3, 3, 64, 64)
    assert torch.equal(blurred, again)
    # Averaging frames removes high frequencies: the blurred frames have less gradient energy.
    assert gradient_energy(blurred) < gradient_energy(sharp)


def test_real_high_frame_rate_video_is_averaged_in_linear_light(tmp_path) -> None:
    import subprocess

    import numpy as np

    from data import linear_to_srgb, quantise, srgb_to_linear, video_clips

    path = tmp_path / "hfr.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=240:duration=0.1", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)],
        check=True,
    )
    clips = list(video_clips(str(path), exposure=7, frames=2, size=64))
    assert len(clips) == 1  # 24 frames: one clip of 2 x 7, the rest too short for another
    blurred, sharp = clips[0]
    assert blurred.shape == sharp.shape == (2, 3, 64, 64)

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    video = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).reshape(-1, 64, 64, 3).copy()).permute(0, 3, 1, 2).float() / 255
    expected = quantise(linear_to_srgb(srgb_to_linear(video[7:14]).mean(0)))
    assert torch.allclose(blurred[1], expected, atol=1 / 255 + 1e-6)
    assert torch.equal(sharp[1], video[10])  # the centre frame of the second exposure


@pytest.mark.parametrize("block", ["scaled", "nafnet"])
def test_blocks_with_zero_scales_start_as_the_identity(block: str) -> None:
    from dsanet import BLOCKS

    x = torch.rand(2, 8, 16, 16)
    assert torch.equal(BLOCKS[block](8)(x), x)


def test_up_sampler_is_exactly_its_transposed_conv() -> None:
    from dsanet import Up

    torch.manual_seed(1)
    up = Up(8, 5)
    x = torch.rand(2, 8, 7, 9)
    assert torch.allclose(up(x), torch.relu(up[0](x)), atol=1e-5)


@pytest.mark.parametrize("attention", [True, False])
def test_finest_scale_restores_the_same_image_without_its_full_resolution_shuffle(attention: bool) -> None:
    from dsanet import ScaleNet

    torch.manual_seed(2)
    net = ScaleNet((8, 16, 32), 1, attention, "plain", False).eval()
    for p in net.parameters():  # away from the near-identity initialisation, so every weight counts
        p.data.normal_(0, 0.2)
    blurred, coarse = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    state = (torch.rand(2, 32, 4, 6), torch.rand(2, 32, 4, 6))
    with torch.no_grad():
        image, features, (h, c) = net(blurred, coarse, None, state)
        finest, none, (h2, c2) = net(blurred, coarse, None, state, finest=True)
    assert features is not None and none is None
    assert torch.allclose(finest, image, atol=1e-4) and torch.equal(h, h2) and torch.equal(c, c2)


def test_psnr_loss_is_the_log_of_the_paper_term_per_image() -> None:
    sharp = torch.rand(2, 3, 16, 16)
    noisy = [(sharp + 0.1 * torch.randn(2, 3, 16, 16)).clamp(0, 1)]
    per_image = ((noisy[0] - sharp) ** 2).flatten(1).mean(1) * 1.1  # MSE + 0.1 x FFT-MSE (Parseval)
    assert multiscale_loss(noisy, sharp, 0.1, "psnr").item() == pytest.approx((10 * torch.log10(per_image)).mean().item(), rel=1e-4)


def test_colour_weight_charges_a_brightness_bias_at_the_finest_scale_only() -> None:
    sharp = torch.rand(2, 3, 16, 16)
    coarse = torch.nn.functional.avg_pool2d(sharp, 2)
    darker = sharp - 2 / 255  # two levels, everywhere
    plain = multiscale_loss([coarse, darker], sharp, 0.1)
    weighted = multiscale_loss([coarse, darker], sharp, 0.1, colour_weight=50)
    assert weighted.item() == pytest.approx(plain.item() + 50 * (2 / 255) ** 2, rel=1e-4)
    # the same bias at the coarse scale costs only its MSE: the term is the output's
    assert multiscale_loss([coarse - 2 / 255, sharp], sharp, 0.1, colour_weight=50).item() == pytest.approx(1.1 * (2 / 255) ** 2, rel=1e-4)
    # texture that keeps each image's mean costs nothing more
    noisy = sharp + 0.05 * torch.randn(2, 3, 16, 16)
    noisy = noisy - noisy.mean((2, 3), keepdim=True) + sharp.mean((2, 3), keepdim=True)
    assert multiscale_loss([noisy], sharp, 0.1, colour_weight=50).item() == pytest.approx(multiscale_loss([noisy], sharp, 0.1).item(), rel=1e-5)


def test_every_experiments_loss_reaches_multiscale_loss_and_a_bad_one_names_its_field() -> None:
    recipes = [load_experiment(p) for p in sorted((Path(__file__).parent / "experiments").rglob("*.yaml"))]
    losses = [recipe["loss"] for recipe in recipes if "loss" in recipe]
    assert len(losses) > 20
    for loss in losses:
        multiscale_loss([torch.zeros(1, 3, 4, 4)], torch.zeros(1, 3, 4, 4), **loss_terms(loss))
    with pytest.raises(ValueError, match="colour_wieght"):
        loss_terms({"type": "multiscale_loss", "colour_wieght": 10})
    with pytest.raises(ValueError, match="loss.type"):
        loss_terms({"type": "l1"})


def test_heavy_blur_features_change_the_frames_and_defaults_do_not() -> None:
    import dataclasses

    from data import HEAVY, BlurConfig, synthesize_clip

    photo = srgb_texture(600)
    make = lambda blur: synthesize_clip([photo], 2, 64, blur, torch.Generator().manual_seed(5))  # noqa: E731
    plain = dataclasses.replace(HEAVY, shake=0, highlights=0, shot_noise=0, read_noise=0, min_detail=0)
    for feature in ({"shake": 0.05}, {"highlights": 1.0}, {"shot_noise": 0.01, "read_noise": 0.01}):
        assert not torch.equal(make(dataclasses.replace(plain, **feature))[0], make(plain)[0]), feature
    # Features at 0 draw no random numbers: the mild split's clips stay what they were.
    assert torch.equal(make(BlurConfig(min_detail=0))[0], make(dataclasses.replace(BlurConfig(min_detail=0), shake=0.0))[0])


def test_defocused_scenes_are_as_soft_in_their_truth_and_cost_the_other_clips_nothing() -> None:
    import dataclasses

    from data import BlurConfig, defocused, synthesize_clip

    photo = srgb_texture(400)
    # A disc keeps the mean (no brightness bias) and takes the detail.
    soft = defocused(photo, 4.0)
    assert soft.shape == photo.shape
    assert abs(float(soft.mean() - photo.mean())) < 1e-3
    assert gradient_energy(soft) < 0.8 * gradient_energy(photo)
    still = BlurConfig(exposures=(1,), camera_speed=(0.0, 0.0), rotation_deg=0.0, zoom=0.0, objects=0, noise=0.0, min_detail=0)
    make = lambda blur: synthesize_clip([photo], 1, 64, blur, torch.Generator().manual_seed(5))  # noqa: E731
    _, focused = make(still)
    _, out_of_focus = make(dataclasses.replace(still, defocus=1.0))
    assert gradient_energy(out_of_focus) < 0.7 * gradient_energy(focused)  # the truth itself is soft
    # Unset, defocus draws no random numbers: the clips of recipes without it stay what they were.
    assert torch.equal(make(BlurConfig(min_detail=0))[0], make(dataclasses.replace(BlurConfig(min_detail=0), defocus=0.0))[0])


def test_a_layer_turns_about_its_own_centre_wherever_it_is_placed() -> None:
    from data import place_layer

    # Two spots of the layer: on its centre (pixel 31.5 of 64), and 10 pixels below it.
    layer = torch.zeros(2, 64, 64)
    layer[0, 31:33, 31:33] = layer[1, 41:43, 31:33] = 1.0
    position = torch.tensor([[5.0, -3.0]] * 3)
    placed = place_layer(layer, position, torch.tensor([0.0, 0.5, 1.2]), 64)
    grid = torch.stack(torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="xy"))  # (x, y) of each pixel
    centroid = lambda spot: (grid * spot).sum((1, 2)) / spot.sum()  # noqa: E731
    for frame, angle in zip(placed, (0.0, 0.5, 1.2)):
        pivot, below = centroid(frame[0]), centroid(frame[1])
        assert (pivot - torch.tensor([31.5 + 5, 31.5 - 3])).norm() < 0.1  # the centre lands on the position
        assert abs(float((below - pivot).norm()) - 10) < 0.1  # and the layer turns about it
        assert abs(abs(float(torch.atan2((below - pivot)[0], (below - pivot)[1]))) - angle) < 0.01


def test_a_walkers_legs_swing_under_a_torso_that_does_not() -> None:
    from data import BlurConfig, _add_walker

    # A white figure over black, in the middle of the view: the composite is its coverage.
    blur = BlurConfig(object_size=(0.15, 0.15), object_speed=(0.5, 0.5))
    k = torch.arange(64, dtype=torch.float32) - 32
    generator = torch.Generator().manual_seed(1)
    coverage = _add_walker(torch.zeros(64, 3, 128, 128), [torch.ones(3, 200, 200)], k, 128, blur, generator)[:, 0]

    def spans(frame: torch.Tensor) -> tuple[int, int]:
        """The figure's width 8-12 rows below its top (the torso) and across its lowest 4 rows (the feet)."""
        rows = torch.nonzero(frame.amax(1) > 0.5).flatten()
        top, bottom = int(rows.min()), int(rows.max())
        columns = lambda band: torch.nonzero((band > 0.5).any(0)).flatten()  # noqa: E731
        span = lambda band: int(columns(band).max() - columns(band).min())  # noqa: E731
        return span(frame[top + 8 : top + 12]), span(frame[bottom - 3 : bottom + 1])

    torso, feet = torch.tensor([spans(frame) for frame in coverage]).float().T
    assert float(torso.max() - torso.min()) <= 2  # the torso keeps its shape
    assert float(feet.max() - feet.min()) >= 6  # the stride opens and closes


def test_cache_shards_are_deterministic_and_compress_only_the_input() -> None:
    from cache import make_shard
    from data import blur_config

    photos = [srgb_texture(400)]
    data = {"crop": 32, "frames": 1, "cache_frames": 2, "compress": {"fraction": 1.0, "crf": [30, 30]}}
    blur = blur_config({"exposures": [5], "min_detail": 0})
    blurred, sharp = make_shard(photos, data, blur, seed=3)
    again, _ = make_shard(photos, data, blur, seed=3)
    uncompressed, sharp_too = make_shard(photos, {**data, "compress": None}, blur, seed=3)
    assert blurred.shape == sharp.shape == (64, 2, 3, 32, 32) and blurred.dtype.name == "uint8"
    assert (blurred == again).all()
    assert (sharp == sharp_too).all()  # the truth is never compressed
    assert not (blurred == uncompressed).all()  # the input went through H.264


def test_cache_identity_pairs_show_the_sharp_frame_and_a_compressed_one_is_its_own_target() -> None:
    from cache import make_shard
    from data import blur_config

    photos = [srgb_texture(400)]
    blur = blur_config({"exposures": [9], "min_detail": 0})
    data = {"crop": 32, "frames": 1, "cache_frames": 1, "identity": 0.5}
    blurred, sharp = make_shard(photos, data, blur, seed=3)
    same = (blurred == sharp).reshape(len(blurred), -1).all(1)
    assert 16 < same.sum() < 48  # about half: the rest stay blurred pairs
    compressed, target = make_shard(photos, {**data, "compress": {"fraction": 1.0, "crf": [30, 30]}}, blur, seed=3)
    assert (target[same] == compressed[same]).all()  # the sharp input after H.264 is its own target
    assert (target[~same] == sharp[~same]).all()  # a blurred one's truth is never compressed
    assert not (compressed[same] == sharp[same]).all()


def test_cache_heavy_share_draws_the_heavy_split_and_none_leaves_the_shard_as_it_was() -> None:
    from cache import make_shard, pick_blur
    from data import HEAVY, blur_config

    blur = blur_config({"exposures": [3], "min_detail": 0})
    g = torch.Generator().manual_seed(0)
    picks = [pick_blur({"heavy": 0.25}, blur, g) is HEAVY for _ in range(400)]
    assert 70 < sum(picks) < 130  # about a quarter
    photos = [srgb_texture(400)]
    data = {"crop": 32, "frames": 1, "cache_frames": 1}
    plain, _ = make_shard(photos, data, blur, seed=3)
    zero, _ = make_shard(photos, {**data, "heavy": 0}, blur, seed=3)
    mixed, _ = make_shard(photos, {**data, "heavy": 0.5}, blur, seed=3)
    assert (plain == zero).all()  # unset and 0 draw nothing: old caches stay valid
    assert not (plain == mixed).all()


def srgb_texture(size: int) -> torch.Tensor:
    """A deterministic textured 'photo' in linear light (3, size, size)."""
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(1, 3, size // 8, size // 8, generator=g)
    return torch.nn.functional.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False)[0].clamp(0, 1)


def gradient_energy(x: torch.Tensor) -> float:
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())
