"""A disk cache of synthesized training clips, so that training spends its cores on convolutions.

    python3 training/cache.py --config training/experiments/dsanet.yaml [--clips 8000] [--seed 0]

Synthesis costs 36-150 ms a 128x128 clip frame on one core (heavier blur averages more
high-speed frames), a third of a training step's time per crop on a 2-core CPU. The cache
makes each clip once and lets training reuse it under the 8 flips and rotations of the square.

Shards of SHARD clips land in runs/cache/<key>/ (uint8 blurred and sharp, (N, T, 3, S, S)),
each written under a temporary name and renamed. The key hashes the data options and the seed,
so a changed recipe never reads an old cache, and a shard is the same on any machine. A cache
is rebuilt from its seed, so it is never committed. train.py starts as soon as one shard
exists and picks up new ones as this keeps writing.

Where `compress` is set, that fraction of the clips goes through H.264 at a random CRF (one per
shard), as a camera delivers its frames; the sharp truth stays uncompressed.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import torch

from common import RUNS, load_experiment
from data import HEAVY, BlurConfig, blur_config, dihedral, load_photo, synthesize_clip
from photos import TRAIN
from video_psnr import EXACT_COLOUR

SHARD = 64
# Bumped when the clips a recipe makes change with the code, not with the options: 2, the H.264
# round trip without swscale's 4:2:0 bias (caches of version 1 darkened compressed clips).
VERSION = 2


def cache_dir(data: dict, seed: int) -> Path:
    """runs/cache/<hash of the data options and seed>: one folder per recipe."""
    options = {k: data[k] for k in ("crop", "blur", "compress", "cache_frames", "identity", "heavy") if k in data}
    key = hashlib.sha256(json.dumps({**options, "seed": seed, "version": VERSION}, sort_keys=True).encode()).hexdigest()[:12]
    return RUNS / "cache" / key


def h264(frames: np.ndarray, crf: int) -> np.ndarray:
    """Round-trip clips (N, T, 3, S, S) uint8 through x264 (yuv420p) as one mosaic video of T
    frames: the artefacts of a camera's stream (blocks, ringing, smeared chroma)."""
    n, t, _, s, _ = frames.shape
    side = math.ceil(math.sqrt(n))
    mosaic = np.zeros((t, side * s, side * s, 3), np.uint8)
    for i in range(n):
        y, x = divmod(i, side)
        mosaic[:, y * s : (y + 1) * s, x * s : (x + 1) * s] = frames[i].transpose(0, 2, 3, 1)
    size = f"{side * s}x{side * s}"
    # swscale's default 4:2:0 conversions are biased: RGB -> yuv420p -> RGB came back 1.1/1.3/1.0
    # levels darker (R/G/B, 16 photo crops, even without x264), which taught the network to
    # brighten every compressed picture, green most. Exact rounding and full chroma
    # interpolation (EXACT_COLOUR) bring the round trip within 0.06 of a level.
    encoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-i", "pipe:0", *EXACT_COLOUR,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-f", "h264", "pipe:1"],
        input=mosaic.tobytes(), check=True, capture_output=True,
    ).stdout
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "h264", "-i", "pipe:0", *EXACT_COLOUR, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        input=encoded, check=True, capture_output=True,
    ).stdout
    mosaic = np.frombuffer(decoded, np.uint8).reshape(t, side * s, side * s, 3)
    out = np.empty_like(frames)
    for i in range(n):
        y, x = divmod(i, side)
        out[i] = mosaic[:, y * s : (y + 1) * s, x * s : (x + 1) * s].transpose(0, 3, 1, 2)
    return out


def pick_blur(data: dict, blur: BlurConfig, g: torch.Generator) -> BlurConfig:
    """`heavy`: this fraction of the clips takes the heavy split's blur (data.HEAVY) instead of
    the recipe's, so that a fine-tune towards camera footage keeps what the network learned on
    long exposures. Drawn only where set, so that the caches of recipes without it stay as they were."""
    if data.get("heavy") and float(torch.rand(1, generator=g)) < data["heavy"]:
        return HEAVY
    return blur


def make_shard(photos: list[torch.Tensor], data: dict, blur: BlurConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    frames = data.get("cache_frames", data["frames"])
    clips = [synthesize_clip(photos, frames, data["crop"], pick_blur(data, blur, g), g) for _ in range(SHARD)]
    to_bytes = lambda x: x.mul(255).round().byte().numpy()  # noqa: E731 - exact: clips are already quantised
    blurred = np.stack([to_bytes(b) for b, _ in clips])
    sharp = np.stack([to_bytes(s) for _, s in clips])
    # `identity`: this fraction of the clips shows the sharp frame itself, so that the network
    # learns to leave a sharp picture alone (it is most of what a camera sees). Drawn only where
    # set, so that the caches of recipes without it stay as they were.
    unblurred = np.zeros(SHARD, bool)
    if data.get("identity"):
        unblurred = (torch.rand(SHARD, generator=g) < data["identity"]).numpy()
        blurred[unblurred] = sharp[unblurred]
    compress = data.get("compress")
    if compress:
        chosen = (torch.rand(SHARD, generator=g) < compress["fraction"]).numpy()
        crf = int(torch.randint(compress["crf"][0], compress["crf"][1] + 1, (1,), generator=g))
        if chosen.any():
            blurred[chosen] = h264(blurred[chosen], crf)
            # A sharp picture through the camera's encoder is still a sharp picture: its target is
            # what came in, so the network learns to leave compressed footage alone rather than
            # to invent the detail the encoder dropped (which moves it away from its input).
            sharp[chosen & unblurred] = blurred[chosen & unblurred]
    return blurred, sharp


def build(data: dict, clips: int, seed: int) -> Path:
    """Write the shards still missing, up to `clips` clips. Where another builder already
    works on this cache (runs sharing a recipe), leave it to that one."""
    folder = cache_dir(data, seed)
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return folder
    photos = [load_photo(p) for p in TRAIN]
    blur = blur_config(data.get("blur", {}))
    for index in range(math.ceil(clips / SHARD)):
        path = folder / f"shard-{index:05d}.npz"
        if path.exists():
            continue
        blurred, sharp = make_shard(photos, data, blur, seed * 1_000_003 + index)
        partial = folder / f"shard-{index:05d}.partial.npz"
        np.savez(partial, blurred=blurred, sharp=sharp)
        partial.replace(path)
        print(f"{path} ({(index + 1) * SHARD} clips)", flush=True)
    return folder


class CachedClips:
    """Endless training batches (B, F, 3, S, S) of F consecutive frames from the cache's clips,
    each under a random flip or rotation of the square. Shards written after the start are
    picked up every `rescan` batches."""

    def __init__(self, folder: Path, batch: int, frames: int, seed: int, rescan: int = 50):
        self.folder, self.batch, self.frames, self.rescan = folder, batch, frames, rescan
        self.generator = torch.Generator().manual_seed(seed)
        self.loaded: set[Path] = set()
        self.blurred: list[np.ndarray] = []
        self.sharp: list[np.ndarray] = []

    def _scan(self) -> None:
        for path in sorted(self.folder.glob("shard-?????.npz")):
            if path not in self.loaded:
                with np.load(path) as shard:
                    self.blurred.extend(shard["blurred"])
                    self.sharp.extend(shard["sharp"])
                self.loaded.add(path)

    def __len__(self) -> int:
        return len(self.blurred)

    def __iter__(self):
        step = 0
        while True:
            if step % self.rescan == 0:
                self._scan()
            if not self.blurred:
                raise RuntimeError(f"{self.folder}: no shards yet; run training/cache.py with the same config")
            g = self.generator
            picks = torch.randint(len(self.blurred), (self.batch,), generator=g).tolist()
            blurred, sharp = [], []
            for i in picks:
                t = int(torch.randint(self.blurred[i].shape[0] - self.frames + 1, (1,), generator=g))
                turn, flip = int(torch.randint(4, (1,), generator=g)), bool(torch.randint(2, (1,), generator=g))
                for source, out in ((self.blurred[i], blurred), (self.sharp[i], sharp)):
                    out.append(dihedral(torch.from_numpy(source[t : t + self.frames]), turn, flip))
            step += 1
            yield torch.stack(blurred).float() / 255, torch.stack(sharp).float() / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).parent / "experiments" / "dsanet.yaml"))
    parser.add_argument("--clips", type=int, default=3072)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # beside training, which has the other threads
    build(load_experiment(args.config)["data"], args.clips, args.seed)


if __name__ == "__main__":
    main()
