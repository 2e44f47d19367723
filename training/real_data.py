"""Real blurred footage for users who have it, chosen by an experiment YAML's `data.source`:

    gopro:  {source: gopro, root: DIR, split: train, blur_folder: blur}
            GoPro_Large (Nah et al.): DIR/<split>/<sequence>/{blur,blur_gamma,sharp}/<frame>.png
    reds:   {source: reds, blur_root: DIR/train_blur, sharp_root: DIR/train_sharp}
            REDS-style: <root>/<sequence>/<frame>.png, the same names under both roots
    videos: {source: videos, folder: DIR, exposure: 9}
            high-frame-rate videos (*.mp4, *.mkv, *.mov, *.avi, *.webm): each training frame
            averages `exposure` consecutive frames in linear light (data.video_clips)

with `crop`, `frames` and `batch` as for synthesized clips. Batches are (B, T, 3, S, S) floats
in [0, 1]: T consecutive frames of one sequence, one random crop, a random flip or rotation.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from data import dihedral, video_clips

Sequence = list[tuple[Path, Path]]  # (blurred, sharp) frame files, in order
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _frames(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _pair(blur_folder: Path, sharp_folder: Path) -> Sequence:
    """The frames of one sequence, matched by file name."""
    for folder in (blur_folder, sharp_folder):
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such folder (expected blurred and sharp frames side by side)")
    blurred = _frames(blur_folder)
    sharp = {p.name: p for p in _frames(sharp_folder)}
    missing = [p.name for p in blurred if p.name not in sharp]
    if missing or not blurred:
        what = f"{len(missing)} frames have no sharp counterpart, first {missing[0]}" if missing else "no frames"
        raise ValueError(f"{blur_folder}: {what} (in {sharp_folder})")
    return [(p, sharp[p.name]) for p in blurred]


def gopro_sequences(root: str | Path, split: str = "train", blur_folder: str = "blur") -> list[Sequence]:
    """GoPro_Large's sequences of one split; `blur_folder` is blur (averaged in the camera's
    gamma-encoded values, the usual benchmark) or blur_gamma (averaged in linear light)."""
    if blur_folder not in ("blur", "blur_gamma"):
        raise ValueError(f"blur_folder must be blur or blur_gamma, got {blur_folder!r}")
    folder = Path(root) / split
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder (GoPro_Large holds train/ and test/ under its root)")
    sequences = [_pair(s / blur_folder, s / "sharp") for s in sorted(folder.iterdir()) if s.is_dir()]
    if not sequences:
        raise ValueError(f"{folder}: no sequences (expected {folder}/<sequence>/{blur_folder} and /sharp)")
    return sequences


def reds_sequences(blur_root: str | Path, sharp_root: str | Path) -> list[Sequence]:
    """REDS-style sequences: the same <sequence>/<frame> names under a blurred and a sharp root."""
    blur_root, sharp_root = Path(blur_root), Path(sharp_root)
    if not blur_root.is_dir():
        raise ValueError(f"{blur_root}: no such folder (data.blur_root)")
    sequences = [_pair(s, sharp_root / s.name) for s in sorted(blur_root.iterdir()) if s.is_dir()]
    if not sequences:
        raise ValueError(f"{blur_root}: no sequence folders")
    return sequences


def read_frame(path: Path) -> Tensor:
    """An image file as floats (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy()).permute(2, 0, 1).float() / 255


class PairedClips:
    """Endless batches (B, T, 3, S, S) of real blurred and sharp frames."""

    def __init__(self, sequences: list[Sequence], batch: int, frames: int, size: int, seed: int):
        usable = [s for s in sequences if len(s) >= frames]
        if not usable:
            raise ValueError(f"no sequence has {frames} frames")
        self.sequences, self.batch, self.frames, self.size = usable, batch, frames, size
        self.generator = torch.Generator().manual_seed(seed)

    def clip(self) -> tuple[Tensor, Tensor]:
        g = self.generator
        sequence = self.sequences[int(torch.randint(len(self.sequences), (1,), generator=g))]
        start = int(torch.randint(len(sequence) - self.frames + 1, (1,), generator=g))
        pairs = sequence[start : start + self.frames]
        blurred = torch.stack([read_frame(b) for b, _ in pairs])
        sharp = torch.stack([read_frame(s) for _, s in pairs])
        _, _, h, w = blurred.shape
        if min(h, w) < self.size:
            raise ValueError(f"{pairs[0][0]}: {w}x{h} is smaller than data.crop {self.size}")
        y = int(torch.randint(h - self.size + 1, (1,), generator=g))
        x = int(torch.randint(w - self.size + 1, (1,), generator=g))
        turn, flip = int(torch.randint(4, (1,), generator=g)), bool(torch.randint(2, (1,), generator=g))
        window = (slice(None), slice(None), slice(y, y + self.size), slice(x, x + self.size))
        return dihedral(blurred[window], turn, flip), dihedral(sharp[window], turn, flip)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        while True:
            clips = [self.clip() for _ in range(self.batch)]
            yield torch.stack([b for b, _ in clips]), torch.stack([s for _, s in clips])


def video_folder_batches(folder: str | Path, exposure: int, batch: int, frames: int, size: int, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless batches from every video in `folder`, the videos in a new order each pass."""
    videos = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if Path(folder).is_dir() else []
    if not videos:
        raise ValueError(f"{folder}: no videos ({', '.join(VIDEO_SUFFIXES)}) in data.folder")
    g = torch.Generator().manual_seed(seed)

    def clips() -> Iterator[tuple[Tensor, Tensor]]:
        for epoch in itertools.count():
            produced = 0
            for i in torch.randperm(len(videos), generator=g).tolist():
                for clip in video_clips(str(videos[i]), exposure, frames, size, seed=seed * 1009 + epoch):
                    produced += 1
                    yield clip
            if not produced:
                raise ValueError(f"{folder}: no video holds {frames} x {exposure} frames of at least {size}x{size}")

    stream = clips()
    while True:
        chosen = [next(stream) for _ in range(batch)]
        yield torch.stack([b for b, _ in chosen]), torch.stack([s for _, s in chosen])


def real_batches(data: dict, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """The training batches of an experiment's `data` whose `source` is real footage."""
    source, batch, frames, size = data["source"], data["batch"], data["frames"], data["crop"]
    if source == "gopro":
        sequences = gopro_sequences(data["root"], data.get("split", "train"), data.get("blur_folder", "blur"))
        return iter(PairedClips(sequences, batch, frames, size, seed))
    if source == "reds":
        return iter(PairedClips(reds_sequences(data["blur_root"], data["sharp_root"]), batch, frames, size, seed))
    if source == "videos":
        return video_folder_batches(data["folder"], data["exposure"], batch, frames, size, seed)
    raise ValueError(f"data.source must be photos, gopro, reds or videos, got {source!r}")
