"""Write a blurred video and its sharp ground truth from held-out photos, with the training
data's synthesis (virtual camera, moving objects, N-frame averaging in linear light).

    python3 training/make_clip.py out/heldout [--frames 6 --size 512]

writes out/heldout-blurred.mp4 and out/heldout-sharp.mp4 (10 fps, near-lossless x264): the
input for `dsanet detect-compare`, or any test of the pipeline against known truth.
"""
from __future__ import annotations

import argparse
import subprocess

import torch

from data import BlurConfig, load_photo, synthesize_clip
from photos import TEST


def encode(frames: torch.Tensor, path: str) -> None:
    """frames: (N, 3, H, W) in [0, 1] -> an H.264 file at 10 fps."""
    n, _, h, w = frames.shape
    raw = frames.permute(0, 2, 3, 1).mul(255).round().byte().contiguous().numpy().tobytes()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", "10",
         "-i", "pipe:0", "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv444p", path],
        input=raw, check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix")
    parser.add_argument("--frames", type=int, default=6, help="frames per photo")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(args.seed)
    blurred, sharp = [], []
    for path in TEST:
        b, s = synthesize_clip([load_photo(path)], args.frames, args.size, BlurConfig(), g)
        blurred.append(b)
        sharp.append(s)
    encode(torch.cat(blurred), f"{args.prefix}-blurred.mp4")
    encode(torch.cat(sharp), f"{args.prefix}-sharp.mp4")
    print(f"wrote {args.prefix}-blurred.mp4 and {args.prefix}-sharp.mp4: {len(TEST)} held-out photos x {args.frames} frames")


if __name__ == "__main__":
    main()
