"""data.py's virtual camera as batched tensor ops on the device that trains.

On a GPU, synthesizing blur in CPU DataLoader workers set the pace (470 crops/s on an H200,
about 1% of the chip). Here the photos are decoded once and stay on the device as sRGB bytes;
each batch draws its trajectories (translation, acceleration, wobble, hand shake, rotation,
zoom; moving objects with their own paths) as tensors, renders every high-speed frame of
every clip with one `grid_sample` per exposure length, in linear light, and averages them;
then clips highlights, adds Poisson-Gaussian sensor noise, quantises to 8 bits and, where
asked, passes the input through JPEG-style 8x8 DCT quantisation. Everything runs in fp32,
outside autocast, from one seed: the same batches on the same device for the same seed.

The distributions are data.py's (`BlurConfig`), drawn differently: data.py retries a photo
whose centre frame is too flat up to 20 times; this draws `candidates` views per clip at once
and keeps the first detailed one. A test compares the two synthesizers' blur on one config.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from data import SHAKE_FRAMES, BlurConfig, decode_photo, linear_to_srgb, quantise, srgb_to_linear

MAX_BASE_SCALE = 1.7  # data.py's base_scale is 1 + 0.7 U: source pixels per output pixel


class PhotoBank:
    """Photos resident on one device as sRGB bytes, padded into one stack (P, 3, H, W) so that
    a batch of windows from different photos is one indexing op."""

    def __init__(self, photos: list[Tensor], device: torch.device):
        if not photos:
            raise ValueError("PhotoBank needs at least one photo")
        height = max(p.shape[1] for p in photos)
        width = max(p.shape[2] for p in photos)
        self.stack = torch.zeros(len(photos), 3, height, width, dtype=torch.uint8, device=device)
        for i, photo in enumerate(photos):
            self.stack[i, :, : photo.shape[1], : photo.shape[2]] = photo.to(device)
        self.heights = torch.tensor([p.shape[1] for p in photos], device=device)
        self.widths = torch.tensor([p.shape[2] for p in photos], device=device)
        self.short_sides = [min(p.shape[1:]) for p in photos]
        self.to_linear = srgb_to_linear(torch.arange(256, dtype=torch.float32, device=device) / 255)

    @staticmethod
    def from_paths(paths: list[str], device: torch.device) -> "PhotoBank":
        return PhotoBank([decode_photo(p) for p in paths], device)

    def eligible(self, side: float) -> Tensor:
        """Indices of the photos whose short side holds a window of `side` pixels."""
        return torch.tensor([i for i, s in enumerate(self.short_sides) if s - 1 >= side], device=self.stack.device)

    def crop(self, photo: Tensor, top: Tensor, left: Tensor, side: int) -> Tensor:
        """Windows (B, 3, side, side) in linear light, at integer (top, left) of photos (B,);
        pixels past a photo's edge repeat its edge."""
        steps = torch.arange(side, device=self.stack.device)
        ys = torch.minimum(top[:, None] + steps, self.heights[photo, None] - 1).clamp(min=0)
        xs = torch.minimum(left[:, None] + steps, self.widths[photo, None] - 1).clamp(min=0)
        channels = torch.arange(3, device=self.stack.device)
        raw = self.stack[photo[:, None, None, None], channels[None, :, None, None], ys[:, None, :, None], xs[:, None, None, :]]
        return self.to_linear[raw.long()]


@dataclass
class Trajectories:
    """data.Motion for a batch: a smooth random 2-D path per row (velocity, constant
    acceleration, slow wobble, optional hand shake), rotation and zoom per high-speed frame."""

    velocity: Tensor  # (B, 2)
    acceleration: Tensor  # (B, 2)
    wobble: Tensor  # (B, 2)
    phase: Tensor  # (B, 2)
    period: Tensor  # (B,)
    rotation: Tensor  # (B,) radians per frame
    zoom: Tensor  # (B,) relative scale per frame
    shake: Tensor | None  # (B, SHAKE_FRAMES, 2)

    @staticmethod
    def random(
        count: int, speed: tuple[float, float], rotation_deg: float, zoom: float, shake: float, g: torch.Generator, device: torch.device
    ) -> "Trajectories":
        def uniform(lo: float, hi: float, *shape: int) -> Tensor:
            return lo + (hi - lo) * torch.rand(count, *shape, generator=g, device=device)

        angle = uniform(0, 2 * math.pi)
        velocity = uniform(*speed)[:, None] * torch.stack([angle.cos(), angle.sin()], 1)
        norm = velocity.norm(dim=1, keepdim=True)
        walk = None
        if shake > 0:
            # Boracchi and Foi's hand shake, as data.py: random accelerations integrated twice.
            accelerations = uniform(0, shake)[:, None, None] * torch.randn(count, SHAKE_FRAMES, 2, generator=g, device=device)
            walk = accelerations.cumsum(1).cumsum(1)
            walk = walk - walk[:, SHAKE_FRAMES // 2 : SHAKE_FRAMES // 2 + 1]
        return Trajectories(
            velocity=velocity,
            acceleration=uniform(-0.02, 0.02, 2) * norm,
            wobble=uniform(0, 0.6, 2) * norm,
            phase=uniform(0, 2 * math.pi, 2),
            period=uniform(20, 80),
            rotation=uniform(-rotation_deg, rotation_deg) * math.pi / 180,
            zoom=uniform(-zoom, zoom),
            shake=walk,
        )

    def select(self, rows: Tensor) -> "Trajectories":
        return Trajectories(*(None if v is None else v[rows] for v in self.__dict__.values()))

    def at(self, k: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Offset (B, K, 2), rotation (B, K) and scale (B, K) at high-speed frame indices k (K,)."""
        k2 = k[None, :, None]
        offset = self.velocity[:, None] * k2 + 0.5 * self.acceleration[:, None] * k2**2
        offset = offset + self.wobble[:, None] * torch.sin(2 * math.pi * k2 / self.period[:, None, None] + self.phase[:, None])
        if self.shake is not None:
            offset = offset + self.shake[:, k.long() + SHAKE_FRAMES // 2]
        return offset, self.rotation[:, None] * k, (1 + self.zoom[:, None]) ** k


def render(source: Tensor, theta: Tensor, size: int, mode: str, padding: str) -> Tensor:
    """Views (B, K, C, size, size) of sources (B, C, W, W) under affine maps theta (B, K, 2, 3),
    as F.affine_grid defines them; the K views of a row are one grid_sample, stacked in height,
    so no source is copied K times."""
    b, k = theta.shape[:2]
    grid = F.affine_grid(theta.reshape(b * k, 2, 3), [b * k, 1, size, size], align_corners=False)
    frames = F.grid_sample(source, grid.reshape(b, k * size, size, 2), mode=mode, padding_mode=padding, align_corners=False)
    return frames.view(b, source.shape[1], k, size, size).transpose(1, 2)


def camera_theta(motion: Trajectories, k: Tensor, scale: Tensor, shift: Tensor, size: int, window: int) -> Tensor:
    """data.warp's affine map for a window of `window` pixels whose centre lies `shift` (B, 2)
    source pixels before the view's centre; scale (B,): source pixels per output pixel."""
    offset, rotation, zoom = motion.at(k)
    s = scale[:, None] / zoom
    cos, sin = torch.cos(rotation) * s * size / window, torch.sin(rotation) * s * size / window
    move = 2 * (offset * scale[:, None, None] + shift[:, None]) / window
    return torch.stack([torch.stack([cos, -sin, move[..., 0]], -1), torch.stack([sin, cos, move[..., 1]], -1)], -2)


def layer_theta(motion: Trajectories, k: Tensor, start: Tensor, size: int) -> Tensor:
    """data.warp_layer's affine map: a layer moving over a fixed view from `start` (B, 2)."""
    offset, rotation, _ = motion.at(k)
    offset = offset + start[:, None]
    cos, sin = torch.cos(rotation), torch.sin(rotation)
    return torch.stack([torch.stack([cos, -sin, -2 * offset[..., 0] / size], -1), torch.stack([sin, cos, -2 * offset[..., 1] / size], -1)], -2)


def detail(images: Tensor) -> Tensor:
    """data.detail for a batch of linear-light images (B, 3, S, S): (B,)."""
    gray = linear_to_srgb(images).mean(1)
    return ((gray[:, 1:] - gray[:, :-1]).abs().mean((1, 2)) + (gray[:, :, 1:] - gray[:, :, :-1]).abs().mean((1, 2))) / 2


# The JPEG standard's example quantisation tables (ITU T.81, Annex K), row-major.
LUMA_TABLE = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
CHROMA_TABLE = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *[99] * 32,
]  # fmt: skip


def dct_matrix(device: torch.device) -> Tensor:
    """The orthonormal 8-point DCT-II as a matrix: coefficients = D @ block @ D.T."""
    n = torch.arange(8, dtype=torch.float32, device=device)
    d = torch.cos(math.pi * (2 * n[None, :] + 1) * n[:, None] / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d


def jpeg_tables(quality: Tensor) -> tuple[Tensor, Tensor]:
    """libjpeg's scaling of the standard tables for qualities (B,) in 1-100: (B, 8, 8) each."""
    quality = quality.float().clamp(1, 100)
    factor = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality)[:, None]
    tables = []
    for base in (LUMA_TABLE, CHROMA_TABLE):
        table = torch.tensor(base, dtype=torch.float32, device=quality.device)
        tables.append(((table[None] * factor + 50) / 100).floor().clamp(1, 255).view(-1, 8, 8))
    return tables[0], tables[1]


def jpeg(images: Tensor, quality: Tensor) -> Tensor:
    """A JPEG round trip of sRGB images (B, 3, H, W) in [0, 1], H and W multiples of 16, at
    qualities (B,): JFIF YCbCr, 4:2:0 chroma, 8x8 DCT coefficients rounded to the quality's
    tables: the blocks, ringing and smeared colour of a compressed camera stream."""
    b, _, h, w = images.shape
    if h % 16 or w % 16:
        raise ValueError(f"jpeg: image size {h}x{w} must be a multiple of 16 (the 4:2:0 macroblock)")
    rgb = images * 255
    r, g, bl = rgb.unbind(1)
    y = 0.299 * r + 0.587 * g + 0.114 * bl
    cb = -0.168736 * r - 0.331264 * g + 0.5 * bl + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * bl + 128
    luma_table, chroma_table = jpeg_tables(quality)
    d = dct_matrix(images.device)

    def round_trip(plane: Tensor, table: Tensor) -> Tensor:
        ph, pw = plane.shape[-2:]
        blocks = (plane - 128).view(b, ph // 8, 8, pw // 8, 8).transpose(2, 3)  # (B, by, bx, 8, 8)
        coefficients = d @ blocks @ d.T
        table = table[:, None, None]
        restored = d.T @ ((coefficients / table).round() * table) @ d
        return restored.transpose(2, 3).reshape(b, ph, pw) + 128

    y = round_trip(y, luma_table)
    chroma = F.avg_pool2d(torch.stack([cb, cr], 1), 2)
    cb, cr = (round_trip(c, chroma_table) for c in chroma.unbind(1))
    chroma = F.interpolate(torch.stack([cb, cr], 1), scale_factor=2, mode="bilinear", align_corners=False) - 128
    cb, cr = chroma.unbind(1)
    out = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1) / 255
    return quantise(out)


@dataclass(frozen=True)
class JpegConfig:
    """A `fraction` of the clips' blurred frames go through JPEG at a quality drawn in `quality`."""

    fraction: float
    quality: tuple[int, int]


class DeviceSynth:
    """Batches of clips (B, T, 3, S, S) of `BlurConfig` blur, synthesized on `device`."""

    def __init__(
        self, bank: PhotoBank, frames: int, size: int, blur: BlurConfig, seed: int,
        jpeg_config: JpegConfig | None = None, candidates: int = 4,
    ):
        if frames * max(blur.exposures) > SHAKE_FRAMES:
            raise ValueError(f"{frames} frames of up to {max(blur.exposures)} high-speed frames exceed the {SHAKE_FRAMES} a trajectory holds")
        # What only data.synthesize_clip draws yet: a recipe that asks for it trains from the cache.
        missing = [name for name in ("gamma_average", "defocus", "walking") if getattr(blur, name)]
        if missing:
            raise ValueError(f"blur.{', blur.'.join(missing)}: not synthesized on the device yet (the CPU cache draws it)")
        if jpeg_config is not None and size % 16:
            raise ValueError(f"data.jpeg needs a crop that is a multiple of 16, got {size}")
        self.bank, self.frames, self.size, self.blur = bank, frames, size, blur
        self.jpeg, self.candidates = jpeg_config, candidates
        self.device = bank.stack.device
        # Exposures are drawn on the host so that grouping clips by exposure needs no device
        # sync; everything else is drawn on the device.
        self.host_generator = torch.Generator().manual_seed(seed)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.photos_for = {n: self._eligible(n) for n in blur.exposures}
        self.object_photos = bank.eligible(size - 1)
        if blur.objects and not len(self.object_photos):
            raise ValueError(f"no photo is at least {size} pixels on its short side, for moving objects")

    def _span(self, exposure: int) -> float:
        """data.synthesize_clip's source window, in output pixels, for clips of this exposure."""
        n = self.frames * exposure
        travel = self.blur.camera_speed[1] * n * 0.8 + 8 + self.blur.shake * n**1.5
        return self.size * math.sqrt(2) + travel

    def _eligible(self, exposure: int) -> Tensor:
        photos = self.bank.eligible(self._span(exposure))
        if not len(photos):
            raise ValueError(f"no photo is large enough for {self.size}x{self.size} views of {self.frames * exposure} high-speed frames at this blur")
        return photos

    def _uniform(self, *shape: int) -> Tensor:
        return torch.rand(*shape, generator=self.generator, device=self.device)

    @torch.no_grad()
    def batch(self, count: int) -> tuple[Tensor, Tensor]:
        """`count` clips: blurred and sharp (count, T, 3, S, S), sRGB in [0, 1], 8-bit values."""
        with torch.autocast(self.device.type, enabled=False):
            exposures = torch.tensor(self.blur.exposures)[torch.randint(len(self.blur.exposures), (count,), generator=self.host_generator)]
            blurred = torch.empty(count, self.frames, 3, self.size, self.size, device=self.device)
            sharp = torch.empty_like(blurred)
            for exposure in sorted(set(exposures.tolist())):
                rows = (exposures == exposure).nonzero()[:, 0].to(self.device)
                blurred[rows], sharp[rows] = self._clips(len(rows), exposure)
            if self.jpeg is not None:
                chosen = self._uniform(count) < self.jpeg.fraction
                lo, hi = self.jpeg.quality
                quality = (lo + (hi - lo + 1) * self._uniform(count)).floor()
                flat = blurred.flatten(0, 1)
                compressed = jpeg(flat, quality.repeat_interleave(self.frames)).view_as(blurred)
                blurred = torch.where(chosen[:, None, None, None, None], compressed, blurred)
            return blurred, sharp

    def _clips(self, count: int, exposure: int) -> tuple[Tensor, Tensor]:
        """`count` clips of one exposure length."""
        blur, size, dev, r = self.blur, self.size, self.device, self.candidates
        n = self.frames * exposure
        k = torch.arange(n, dtype=torch.float32, device=dev) - n // 2
        span = self._span(exposure)

        # `r` candidate views per clip (photo, window, camera path); the first whose sharp
        # centre frame has detail is kept, as data.py's retries keep the first.
        base_scale = 1 + 0.7 * self._uniform(count)
        pool = self.photos_for[exposure]
        photo = pool[(self._uniform(count, r) * len(pool)).long()]
        short = torch.minimum(self.bank.heights[photo], self.bank.widths[photo])
        scale = torch.minimum(base_scale[:, None], (short - 1) / span)
        window = (span * scale).floor()
        top = (self._uniform(count, r) * (self.bank.heights[photo] - window + 1)).floor()
        left = (self._uniform(count, r) * (self.bank.widths[photo] - window + 1)).floor()
        centre = torch.stack([left, top], -1) + window[..., None] / 2  # (x, y), continuous pixels
        camera = Trajectories.random(count * r, blur.camera_speed, blur.rotation_deg, blur.zoom, blur.shake, self.generator, dev)
        # The centre frame's view: wobble moves it by at most 0.6 x the top speed.
        small = math.ceil(MAX_BASE_SCALE * (size + 1.2 * blur.camera_speed[1])) + 8
        centre_frames = self._views(photo.flatten(), centre.view(-1, 2), scale.flatten(), camera, k[n // 2 : n // 2 + 1], small)
        keep = (detail(centre_frames[:, 0]).view(count, r) >= blur.min_detail).float()
        chosen = torch.where(keep.any(1), keep.argmax(1), torch.full_like(keep[:, 0], r - 1).long())
        pick = torch.arange(count, device=dev) * r + chosen
        big = math.ceil(MAX_BASE_SCALE * span) + 4
        high_speed = self._views(photo.flatten()[pick], centre.view(-1, 2)[pick], scale.flatten()[pick], camera.select(pick), k, big)

        # Object counts are drawn on the host too, so that only clips with an object render it.
        objects = torch.randint(blur.objects + 1, (count,), generator=self.host_generator)
        for slot in range(blur.objects):
            rows = (objects > slot).nonzero()[:, 0].to(dev)
            if len(rows):
                high_speed[rows] = self._add_object(high_speed[rows], k)

        high_speed = high_speed.view(count, self.frames, exposure, 3, size, size)
        if blur.highlights > 0:
            # A brighter exposure: what exceeds white clips, in the sharp frame as in the blurred one.
            high_speed = high_speed * (1 + blur.highlights * self._uniform(count))[:, None, None, None, None, None]
        blurred = high_speed.mean(2).clamp(0, 1)
        if blur.shot_noise > 0 or blur.read_noise > 0:
            shot = (blur.shot_noise * self._uniform(count))[:, None, None, None, None]
            read = (blur.read_noise * self._uniform(count))[:, None, None, None, None]
            blurred = blurred + (shot * blurred + read**2).sqrt() * torch.randn(blurred.shape, generator=self.generator, device=dev)
        blurred = linear_to_srgb(blurred)
        if blur.noise > 0:
            sigma = (blur.noise * self._uniform(count))[:, None, None, None, None]
            blurred = blurred + sigma * torch.randn(blurred.shape, generator=self.generator, device=dev)
        return quantise(blurred), quantise(linear_to_srgb(high_speed[:, :, exposure // 2]))

    def _views(self, photo: Tensor, centre: Tensor, scale: Tensor, camera: Trajectories, k: Tensor, window: int) -> Tensor:
        """The camera's high-speed frames (B, K, 3, S, S) over windows of `window` pixels around
        `centre` (B, 2) of photos (B,), bicubic as data.warp."""
        corner = (centre - window / 2).floor()
        source = self.bank.crop(photo, corner[:, 1].long(), corner[:, 0].long(), window)
        theta = camera_theta(camera, k, scale, centre - corner - window / 2, self.size, window)
        return render(source, theta, self.size, "bicubic", "reflection").clamp(0, 1)

    def _add_object(self, frames: Tensor, k: Tensor) -> Tensor:
        """data._add_object for a batch: a textured ellipse moving on its own path over frames."""
        count, size, dev, blur = frames.shape[0], self.size, self.device, self.blur
        photo = self.object_photos[(self._uniform(count) * len(self.object_photos)).long()]
        radius = size * (0.12 + 0.2 * self._uniform(count, 2))
        top = (self._uniform(count) * (self.bank.heights[photo] - size + 1)).floor().long()
        left = (self._uniform(count) * (self.bank.widths[photo] - size + 1)).floor().long()
        patch = self.bank.crop(photo, top, left, size)
        axis = torch.arange(size, device=dev) - size / 2 + 0.5
        xx, yy = axis[None, None, :], axis[None, :, None]
        rx, ry = radius[:, 0, None, None], radius[:, 1, None, None]
        edge = 1 - ((xx / rx) ** 2 + (yy / ry) ** 2).sqrt()
        alpha = (edge * torch.minimum(rx, ry) / 1.5).clamp(0, 1)  # a 1.5-pixel soft edge
        motion = Trajectories.random(count, blur.object_speed, 4 * blur.rotation_deg, 0, 0, self.generator, dev)
        start = (self._uniform(count, 2) - 0.5) * size * 0.6
        theta = layer_theta(motion, k, start, size)
        moved = render(torch.cat([patch, alpha[:, None]], 1), theta, size, "bilinear", "zeros")
        return frames * (1 - moved[:, :, 3:]) + moved[:, :, :3] * moved[:, :, 3:]


class DeviceClips:
    """Endless training batches (B, T, 3, S, S) from DeviceSynth, on its device."""

    def __init__(self, synth: DeviceSynth, batch: int):
        self.synth, self.batch = synth, batch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        while True:
            yield self.synth.batch(self.batch)
