"""Write a blurred video and its sharp ground truth from held-out photos, with the training
data's synthesis (virtual camera, moving objects, N-frame averaging in linear light).

    python3 training/make_clip.py out/heldout [--frames 6 --size 512] [--blur heavy] [--lossless]

writes out/heldout-blurred.mp4 and out/heldout-sharp.mp4 (10 fps, near-lossless x264), or
.mkv files (FFV1, bit-exact) with --lossless: the input for `dsanet detect-compare`, or any
measurement of the pipeline against known truth (see video_psnr.py). --blur picks the
held-out split's blur: mild (the default) or heavy.
"""
from __future__ import annotations

import argparse
import subprocess

import torch

from data import HEAVY, BlurConfig, load_photo, synthesize_clip
from photos import TEST


def encode(frames: torch.Tensor, path: str, lossless: bool) -> None:
    """frames: (N, 3, H, W) in [0, 1] -> a 10 fps file: FFV1 (bit-exact RGB) or near-lossless H.264."""
    n, _, h, w = frames.shape
    raw = frames.permute(0, 2, 3, 1).mul(255).round().byte().contiguous().numpy().tobytes()
    codec = ["-c:v", "ffv1", "-pix_fmt", "bgr0"] if lossless else ["-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv444p"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", "10", "-i", "pipe:0", *codec, path],
        input=raw, check=True,
    )


# The clip's defaults, which camera_eval.py's held-out photos figure uses too.
PER_PHOTO, SIZE, SEED = 6, 512, 5


def write_clip(prefix: str, frames: int, size: int, seed: int, blur: BlurConfig, lossless: bool) -> tuple[str, str]:
    """PREFIX-blurred and PREFIX-sharp: `frames` frames of each held-out photo, in TEST's order.
    Returns their paths (.mkv lossless, else .mp4)."""
    extension = "mkv" if lossless else "mp4"
    g = torch.Generator().manual_seed(seed)
    blurred, sharp = [], []
    for path in TEST:
        b, s = synthesize_clip([load_photo(path)], frames, size, blur, g)
        blurred.append(b)
        sharp.append(s)
    paths = f"{prefix}-blurred.{extension}", f"{prefix}-sharp.{extension}"
    encode(torch.cat(blurred), paths[0], lossless)
    encode(torch.cat(sharp), paths[1], lossless)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix")
    parser.add_argument("--frames", type=int, default=PER_PHOTO, help="frames per photo")
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--blur", choices=["mild", "heavy"], default="mild")
    parser.add_argument("--lossless", action="store_true", help="FFV1 in .mkv instead of H.264 in .mp4")
    args = parser.parse_args()
    blurred, sharp = write_clip(args.prefix, args.frames, args.size, args.seed, HEAVY if args.blur == "heavy" else BlurConfig(), args.lossless)
    print(f"wrote {blurred} and {sharp}: {len(TEST)} held-out photos x {args.frames} frames, {args.blur} blur")


if __name__ == "__main__":
    main()
