"""Training data as in the paper's section 4: a blurred frame is the average of N consecutive
frames of a high-frame-rate sequence, and the sharp centre frame is its ground truth.

With no high-speed camera here, the sequence comes from a virtual camera moving over a real
photo (smooth random translation, small rotation and zoom, sub-pixel steps) with independently
moving foreground patches (rigid ellipses, or walkers whose legs swing: `BlurConfig.walking`),
so that the blur varies across the frame as in dynamic scenes.
Frames are averaged in linear light, as GoPro's were. `video_clips` does the same averaging over
a real high-frame-rate video, the paper's own method.

A clip is T consecutive video frames of one sequence, so the ConvLSTM state can be carried.
Tensors: blurred and sharp clips are (T, 3, S, S) floats in [0, 1], quantised to 8 bits.
"""
from __future__ import annotations

import itertools
import math
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor


def srgb_to_linear(x: Tensor) -> Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def quantise(x: Tensor) -> Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


def decode_photo(path: str, long_side: int = 1600) -> Tensor:
    """A photo as sRGB bytes (3, H, W) uint8, downscaled so its long side is `long_side`:
    downscaling a 4-6K photo leaves sharper, cleaner ground truth than its own pixels."""
    image = Image.open(path).convert("RGB")
    image.draft("RGB", (long_side, long_side))
    scale = long_side / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


@lru_cache(maxsize=None)
def load_photo(path: str, long_side: int = 1600) -> Tensor:
    """decode_photo's photo as linear-light floats (3, H, W)."""
    return srgb_to_linear(decode_photo(path, long_side).float() / 255)


@dataclass(frozen=True)
class BlurConfig:
    """The blur distribution. Speeds are in output pixels per high-speed frame.

    The defaults are the mild split the first models were measured on; `HEAVY` is camera-like
    blur. Features at 0 draw no random numbers, so the defaults' clips never change."""

    exposures: tuple[int, ...] = (5, 7, 9, 11, 13)  # N frames averaged (odd: a centre frame)
    camera_speed: tuple[float, float] = (0.2, 1.6)
    rotation_deg: float = 0.08  # max rotation per high-speed frame
    zoom: float = 0.002  # max relative zoom per high-speed frame
    objects: int = 2  # up to this many independently moving foreground patches
    object_speed: tuple[float, float] = (0.3, 2.5)
    # The objects' radii, as fractions of the crop: the defaults are large blobs; a street
    # camera's walkers are a tenth of a 128 crop wide, and a blur as long as they are wide.
    object_size: tuple[float, float] = (0.12, 0.32)
    noise: float = 0.01  # max std of Gaussian noise added to the blurred frame (sRGB)
    min_detail: float = 0.012  # reject crops whose ground truth is this flat (sky, bokeh)
    shake: float = 0.0  # max std of hand shake: random-walk acceleration, pixels per frame^2
    highlights: float = 0.0  # max extra exposure gain: bright parts clip at white, as a sensor saturates
    # Sensor noise in linear light (Poisson-Gaussian, as RSBlur models it): variance = shot * x + read^2.
    shot_noise: float = 0.0  # max shot-noise gain
    read_noise: float = 0.0  # max read-noise std
    # This share of the clips averages its high-speed frames as encoded (sRGB) values, as
    # ffmpeg's tmix, GoPro's gamma pairs and a camera's frame blending do, not in linear light:
    # a dark walker smeared over a bright street looks darker that way, and the network meets both.
    gamma_average: float = 0.0
    # This share of the clips shows a scene out of focus: the background seen through a lens
    # focused elsewhere (a disc of 1 to `defocus_radius` output pixels), as a macro shot, a
    # portrait or a camera focused on the far side of the street sees it. Its truth is as soft
    # as its input, so the network learns that a smooth edge is not motion blur to undo: the
    # DSANet shipped on 2026-12-06 turned a held-out macro photo's bokeh into hard edges and
    # blocky texture (47.1 dB in, 34.8 out). The moving objects stay in focus, as a subject does.
    defocus: float = 0.0
    defocus_radius: float = 8.0
    # This share of the moving objects walks: a torso and two legs that swing about its hips,
    # so that the feet move up to twice as fast as the body and in another direction, as a
    # street camera's people do; the rest are rigid ellipses. A rigid blob's blur is one
    # smear; a walker's is a sharp-ish torso over legs smeared into a fan.
    walking: float = 0.0


# The heavy held-out split: long exposures (15-25 high-speed frames, beyond GoPro's 7-13),
# shaky motion with rotation, up to three moving objects, clipped highlights and sensor noise.
HEAVY = BlurConfig(
    exposures=(15, 17, 19, 21, 23, 25), camera_speed=(0.2, 0.8), rotation_deg=0.1, objects=3, object_speed=(0.3, 1.5),
    noise=0.0, shake=0.02, highlights=0.5, shot_noise=0.002, read_noise=0.004,
)


def blur_config(options: dict) -> BlurConfig:
    """A BlurConfig from an experiment YAML's `data.blur` (lists become tuples)."""
    return BlurConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


@dataclass
class Motion:
    """A smooth random 2-D trajectory: velocity plus constant acceleration plus a slow wobble."""

    velocity: Tensor  # (2,)
    acceleration: Tensor  # (2,)
    wobble: Tensor  # (2,) amplitude
    phase: Tensor  # (2,)
    period: float
    rotation: float  # radians per frame
    zoom: float  # relative scale per frame

    shake: Tensor | None = None  # (SHAKE_FRAMES, 2) offsets of a random walk, or None

    @staticmethod
    def random(speed: tuple[float, float], rotation_deg: float, zoom: float, g: torch.Generator, shake: float = 0.0) -> "Motion":
        def uniform(lo: float, hi: float, n: int = 1) -> Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=g)

        angle = uniform(0, 2 * math.pi)
        velocity = uniform(*speed) * torch.cat([angle.cos(), angle.sin()])
        motion = Motion(
            velocity=velocity,
            acceleration=uniform(-0.02, 0.02, 2) * velocity.norm(),
            wobble=uniform(0, 0.6, 2) * velocity.norm(),
            phase=uniform(0, 2 * math.pi, 2),
            period=float(uniform(20, 80)),
            rotation=math.radians(float(uniform(-rotation_deg, rotation_deg))),
            zoom=float(uniform(-zoom, zoom)),
        )
        if shake > 0:
            # Hand shake as Boracchi and Foi model it: random accelerations integrated twice,
            # so the path wanders and jerks rather than gliding.
            accelerations = float(uniform(0, shake)) * torch.randn(SHAKE_FRAMES, 2, generator=g)
            walk = accelerations.cumsum(0).cumsum(0)
            motion.shake = walk - walk[SHAKE_FRAMES // 2]
        return motion

    def at(self, k: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Offset (K, 2), rotation (K,) and scale (K,) at high-speed frame indices k (K,)."""
        k2 = k[:, None]
        offset = self.velocity * k2 + 0.5 * self.acceleration * k2**2
        offset = offset + self.wobble * torch.sin(2 * math.pi * k2 / self.period + self.phase)
        if self.shake is not None:
            offset = offset + self.shake[k.long() + SHAKE_FRAMES // 2]
        return offset, self.rotation * k, (1 + self.zoom) ** k


SHAKE_FRAMES = 512  # longer than any clip's high-speed frames (frames x exposure)


def warp(source: Tensor, motion: Motion, k: Tensor, size: int, base_scale: float) -> Tensor:
    """Sample a size x size view of `source` (C, Hs, Ws) centred in it, for each frame index k:
    returns (K, C, size, size). Bicubic, so sub-pixel steps keep the ground truth sharp."""
    offset, rotation, scale = motion.at(k)
    _, hs, ws = source.shape
    s = base_scale / scale  # source pixels per output pixel
    cos, sin = torch.cos(rotation) * s, torch.sin(rotation) * s
    # affine_grid maps output [-1, 1] to source [-1, 1]; convert pixel units per axis.
    theta = torch.zeros(len(k), 2, 3)
    theta[:, 0, 0] = cos * size / ws
    theta[:, 0, 1] = -sin * size / ws
    theta[:, 1, 0] = sin * size / hs
    theta[:, 1, 1] = cos * size / hs
    theta[:, 0, 2] = 2 * offset[:, 0] * base_scale / ws
    theta[:, 1, 2] = 2 * offset[:, 1] * base_scale / hs
    grid = F.affine_grid(theta, [len(k), source.shape[0], size, size], align_corners=False)
    frames = F.grid_sample(source.expand(len(k), -1, -1, -1), grid, mode="bicubic", padding_mode="reflection", align_corners=False)
    return frames.clamp(0, 1)


def _window(photo: Tensor, size: int, g: torch.Generator) -> Tensor:
    _, h, w = photo.shape
    y = int(torch.randint(0, h - size + 1, (1,), generator=g))
    x = int(torch.randint(0, w - size + 1, (1,), generator=g))
    return photo[:, y : y + size, x : x + size]


def detail(image: Tensor) -> float:
    """Mean absolute gradient of the luminance (sRGB): low for flat sky and bokeh."""
    gray = linear_to_srgb(image).mean(0)
    return float((gray[1:, :] - gray[:-1, :]).abs().mean() + (gray[:, 1:] - gray[:, :-1]).abs().mean()) / 2


def defocused(image: Tensor, radius: float) -> Tensor:
    """`image` (C, H, W), linear light, through a lens focused elsewhere: each point spread
    over a disc of `radius` pixels (its rim antialiased), reflected at the borders."""
    r = math.ceil(radius)
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1.0), torch.arange(-r, r + 1.0), indexing="ij")
    disc = (radius + 0.5 - (xx**2 + yy**2).sqrt()).clamp(0, 1)
    kernel = (disc / disc.sum()).expand(image.shape[0], 1, -1, -1)
    return F.conv2d(F.pad(image[None], (r,) * 4, mode="reflect"), kernel, groups=image.shape[0])[0]


def synthesize_clip(
    photos: list[Tensor], frames: int, size: int, blur: BlurConfig, g: torch.Generator
) -> tuple[Tensor, Tensor]:
    """One clip of `frames` video frames, each the average of N high-speed frames."""
    exposure = blur.exposures[int(torch.randint(len(blur.exposures), (1,), generator=g))]
    k = torch.arange(frames * exposure, dtype=torch.float32)
    k = k - k[len(k) // 2]  # the trajectory is centred on the middle of the clip
    base_scale = 1 + 0.7 * float(torch.rand(1, generator=g))
    # A source window wide enough for the whole trajectory, rotation included.
    travel = blur.camera_speed[1] * len(k) * 0.8 + 8 + blur.shake * len(k) ** 1.5
    span = size * math.sqrt(2) + travel
    # Drawn only where set, so that the clips of recipes without it stay as they were.
    out_of_focus = blur.defocus > 0 and float(torch.rand(1, generator=g)) < blur.defocus
    focus_radius = 1 + (blur.defocus_radius - 1) * float(torch.rand(1, generator=g)) if out_of_focus else 0.0

    high_speed = None
    for _ in range(20):
        photo = photos[int(torch.randint(len(photos), (1,), generator=g))]
        # Large views of long trajectories zoom out less than the drawn scale where the photo
        # is too small for it (never below 1:1, which would blur the truth).
        scale = min(base_scale, (min(photo.shape[1:]) - 1) / span)
        if scale < 1:
            continue
        background = _window(photo, int(span * scale), g)
        if out_of_focus:
            background = defocused(background, focus_radius * scale)  # in the window's pixels
        camera = Motion.random(blur.camera_speed, blur.rotation_deg, blur.zoom, g, blur.shake)
        high_speed = warp(background, camera, k, size, scale)
        if detail(high_speed[len(k) // 2]) >= blur.min_detail:
            break
    if high_speed is None:
        raise ValueError(f"no photo is large enough for {size}x{size} views of {len(k)} high-speed frames at this blur")

    for _ in range(int(torch.randint(blur.objects + 1, (1,), generator=g))):
        walks = blur.walking > 0 and float(torch.rand(1, generator=g)) < blur.walking
        high_speed = (_add_walker if walks else _add_object)(high_speed, photos, k, size, blur, g)

    high_speed = high_speed.view(frames, exposure, 3, size, size)
    if blur.highlights > 0:
        # A brighter exposure: what exceeds white clips, in the sharp frame as in the blurred
        # one, where a light source smears into a saturated streak.
        high_speed = high_speed * (1 + blur.highlights * float(torch.rand(1, generator=g)))
    if blur.gamma_average > 0 and float(torch.rand(1, generator=g)) < blur.gamma_average:
        blurred_linear = srgb_to_linear(linear_to_srgb(high_speed.clamp(0, 1)).mean(1))
    else:
        blurred_linear = high_speed.mean(1).clamp(0, 1)
    if blur.shot_noise > 0 or blur.read_noise > 0:
        shot, read = blur.shot_noise * float(torch.rand(1, generator=g)), blur.read_noise * float(torch.rand(1, generator=g))
        std = (shot * blurred_linear + read**2).sqrt()
        blurred_linear = blurred_linear + std * torch.randn(blurred_linear.shape, generator=g)
    blurred = linear_to_srgb(blurred_linear)
    sharp = linear_to_srgb(high_speed[:, exposure // 2])
    if blur.noise > 0:
        sigma = blur.noise * float(torch.rand(1, generator=g))
        blurred = blurred + sigma * torch.randn(blurred.shape, generator=g)
    return quantise(blurred), quantise(sharp)


def _add_object(
    frames: Tensor, photos: list[Tensor], k: Tensor, size: int, blur: BlurConfig, g: torch.Generator
) -> Tensor:
    """Composite a textured ellipse that moves on its own trajectory over every frame."""
    photo = photos[int(torch.randint(len(photos), (1,), generator=g))]
    smallest, largest = blur.object_size
    radius = size * (smallest + (largest - smallest) * torch.rand(2, generator=g))
    layer = ellipse_layer(_window(photo, size, g), (0.0, 0.0), (radius[0], radius[1]))
    motion = Motion.random(blur.object_speed, 4 * blur.rotation_deg, 0, g)
    # Start the object somewhere inside the view and let it cross part of it.
    start = (torch.rand(2, generator=g) - 0.5) * size * 0.6
    moved = warp_layer(layer, motion, k, size, start)
    return over(frames, moved)


def over(frames: Tensor, layers: Tensor) -> Tensor:
    """`layers` (K, 4, S, S: RGB and alpha) composited over `frames` (K, 3, S, S)."""
    return frames * (1 - layers[:, 3:]) + layers[:, :3] * layers[:, 3:]


def ellipse_layer(patch: Tensor, centre: tuple[float, float], radius: tuple[float, float]) -> Tensor:
    """`patch` (3, S, S) cut to an ellipse of `radius` (x, y) pixels at `centre` (x, y) pixels
    from the patch's centre, with a 1.5-pixel soft edge: (4, S, S), RGB and alpha."""
    size = patch.shape[-1]
    yy, xx = torch.meshgrid(torch.arange(size) - size / 2 + 0.5, torch.arange(size) - size / 2 + 0.5, indexing="ij")
    edge = 1 - (((xx - centre[0]) / radius[0]) ** 2 + ((yy - centre[1]) / radius[1]) ** 2).sqrt()
    alpha = (edge * min(radius) / 1.5).clamp(0, 1)
    return torch.cat([patch, alpha[None]], 0)


def _add_walker(
    frames: Tensor, photos: list[Tensor], k: Tensor, size: int, blur: BlurConfig, g: torch.Generator
) -> Tensor:
    """Composite a walking figure over every frame: a torso on a path that runs mostly across
    the view, over two legs hung from its hips that swing in opposite phase, each foot at most
    as fast relative to the hips as the hips over the ground: at the middle of one swing it
    stands still, as a planted foot does, and at the middle of the other it moves at twice the
    body's speed."""
    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand(1, generator=g))

    smallest, largest = blur.object_size
    height = 2 * size * uniform(smallest, largest)  # hips to head is half of it, legs the other half
    leg = height / 2
    motion = Motion.random(blur.object_speed, 0, 0, g)
    speed = float(motion.velocity.norm())
    heading = uniform(-0.35, 0.35) + (math.pi if float(torch.rand(1, generator=g)) < 0.5 else 0.0)
    motion.velocity = speed * torch.tensor([math.cos(heading), math.sin(heading)])
    swing = uniform(0.25, 0.5)  # radians either side of hanging straight down
    # Angular speed swing * 2 pi / period at the foot, leg pixels from the hips, equals the body's speed.
    period = max(4.0, 2 * math.pi * swing * leg / max(speed, 1e-3))
    phase = uniform(0, 2 * math.pi)
    start = (torch.rand(2, generator=g) - 0.5) * size * 0.6
    hips = motion.at(k)[0] + start

    def patch() -> Tensor:
        return _window(photos[int(torch.randint(len(photos), (1,), generator=g))], size, g)

    # A leg hangs from the layer's centre (the hip), so turning the layer about it swings the leg;
    # both legs are the one layer.
    leg_layer = ellipse_layer(patch(), (0.0, leg / 2), (max(1.5, 0.07 * height), leg / 2))
    for side in (0.0, math.pi):
        angle = swing * torch.sin(2 * math.pi * k / period + phase + side)
        frames = over(frames, place_layer(leg_layer, hips, angle, size))
    torso = ellipse_layer(patch(), (0.0, -0.25 * height), (max(2.0, 0.14 * height), 0.27 * height))
    head = ellipse_layer(patch(), (0.0, -0.45 * height), (max(1.5, 0.07 * height), max(1.5, 0.07 * height)))
    still = torch.zeros(len(k))
    frames = over(frames, place_layer(torso, hips, still, size))
    return over(frames, place_layer(head, hips, still, size))


def warp_layer(layer: Tensor, motion: Motion, k: Tensor, size: int, centre: Tensor) -> Tensor:
    """Like `warp`, but the layer moves over a fixed view; zero (transparent) outside it."""
    offset, rotation, _ = motion.at(k)
    offset = offset + centre
    return _turned_layer(layer, rotation, -2 * offset[:, 0] / size, -2 * offset[:, 1] / size, size)


def place_layer(layer: Tensor, position: Tensor, angle: Tensor, size: int) -> Tensor:
    """`layer` (C, S, S) over a fixed view, for each high-speed frame: its centre at `position`
    (K, 2) pixels from the view's centre and turned by `angle` (K,) radians about that centre
    (warp_layer turns about the view's centre instead, the same while its turns are small).
    Zero (transparent) outside it."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid reads the source at theta @ (p, 1): the layer's centre lands where p = position.
    shift = -2 * position / size
    return _turned_layer(layer, angle, cos * shift[:, 0] - sin * shift[:, 1], sin * shift[:, 0] + cos * shift[:, 1], size)


def _turned_layer(layer: Tensor, angle: Tensor, shift_x: Tensor, shift_y: Tensor, size: int) -> Tensor:
    """`layer` (C, S, S) sampled bilinearly through affine_grid's map (K, 2, 3): turned by
    `angle` (K,), with its last column (`shift_x`, `shift_y`) in affine_grid's units; zero
    (transparent) outside it."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(len(angle), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, 0, 2], theta[:, 1, 2] = shift_x, shift_y
    grid = F.affine_grid(theta, [len(angle), layer.shape[0], size, size], align_corners=False)
    return F.grid_sample(layer.expand(len(angle), -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class ClipStream:
    """An endless stream of training batches (B, T, 3, S, S) drawn from photos."""

    def __init__(self, paths: list[str], batch: int, frames: int, size: int, blur: BlurConfig, seed: int):
        self.photos = [load_photo(p) for p in paths]
        self.batch, self.frames, self.size, self.blur = batch, frames, size, blur
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        while True:
            clips = [synthesize_clip(self.photos, self.frames, self.size, self.blur, self.generator) for _ in range(self.batch)]
            yield torch.stack([c[0] for c in clips]), torch.stack([c[1] for c in clips])


def dihedral(clip: Tensor, turn: int, flip: bool) -> Tensor:
    """A clip (T, 3, S, S) turned by `turn` quarter turns, then mirrored if `flip`: the eight
    symmetries of the square, each as valid a training clip as the original."""
    turned = torch.rot90(clip, turn, (2, 3))
    return turned.flip(3) if flip else turned


class PhotoClips(torch.utils.data.IterableDataset):
    """Endless single clips (T, 3, S, S) for DataLoader workers, where an accelerator trains
    faster than the CPU synthesizes: each worker keeps a pool of clips, hands out a random one
    under a random flip or rotation of the square, and replaces one every `reuse` clips, so
    each synthesized clip is seen `reuse` times on average."""

    def __init__(self, paths: list[str], frames: int, size: int, blur: BlurConfig, seed: int, reuse: int, pool: int = 64):
        self.paths, self.frames, self.size, self.blur = paths, frames, size, blur
        self.seed, self.reuse, self.pool = seed, reuse, pool

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        worker = torch.utils.data.get_worker_info()
        torch.set_num_threads(1)  # one core a worker: the workers are the parallelism
        g = torch.Generator().manual_seed(self.seed * 1009 + (worker.id if worker else 0))
        photos = [load_photo(p) for p in self.paths]
        fresh = lambda: synthesize_clip(photos, self.frames, self.size, self.blur, g)  # noqa: E731
        pool = [fresh() for _ in range(self.pool)]
        for n in itertools.count(1):
            blurred, sharp = pool[int(torch.randint(len(pool), (1,), generator=g))]
            turn, flip = int(torch.randint(4, (1,), generator=g)), bool(torch.randint(2, (1,), generator=g))
            yield dihedral(blurred, turn, flip), dihedral(sharp, turn, flip)
            if n % self.reuse == 0:
                pool[int(torch.randint(len(pool), (1,), generator=g))] = fresh()


def test_clips(paths: list[str], count: int, frames: int, size: int, blur: BlurConfig, seed: int = 2025) -> list[tuple[Tensor, Tensor]]:
    """The fixed held-out set: the same clips for the same seed, on any machine."""
    g = torch.Generator().manual_seed(seed)
    photos = [load_photo(p) for p in paths]
    return [synthesize_clip([photos[i % len(photos)]], frames, size, blur, g) for i in range(count)]


def video_clips(path: str, exposure: int, frames: int, size: int, seed: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
    """Clips from a real high-frame-rate video (the paper's method): each video frame averages
    `exposure` consecutive frames in linear light; a random size x size crop per clip."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True,
    )
    width, height = (int(v) for v in probe.stdout.strip().split(","))
    decoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE
    )
    assert decoder.stdout is not None
    g = torch.Generator().manual_seed(seed)
    frame_bytes = width * height * 3
    try:
        while True:
            raw = decoder.stdout.read(frame_bytes * exposure * frames)
            if len(raw) < frame_bytes * exposure * frames:
                return
            video = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(frames, exposure, height, width, 3)
            y = int(torch.randint(0, height - size + 1, (1,), generator=g))
            x = int(torch.randint(0, width - size + 1, (1,), generator=g))
            crop = srgb_to_linear(video[:, :, y : y + size, x : x + size].permute(0, 1, 4, 2, 3).float() / 255)
            yield quantise(linear_to_srgb(crop.mean(1))), quantise(linear_to_srgb(crop[:, exposure // 2]))
    finally:
        decoder.kill()
        decoder.wait()
