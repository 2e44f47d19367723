"""Mean per-frame PSNR of videos against their sharp truth, frame for frame.

    python3 training/video_psnr.py out/heavy-sharp.mkv out/heavy-blurred.mkv out/heavy-deblurred.mkv

measures what the pipeline delivers (make `dsanet deblur` write --lossless output, so that
no encoder stands between the model and the figure). RGB PSNR per frame, averaged, as
evaluate.py reports it.
"""
from __future__ import annotations

import argparse
import math
import subprocess

import numpy as np

# As dsanet decodes (src/ffmpeg/exact-colour.ts): swscale's default yuv420p -> RGB comes back
# about a level dark, so the truth and the outputs are read the way the pipeline reads its input.
EXACT_COLOUR = ["-sws_flags", "accurate_rnd+full_chroma_int"]


def frames(path: str) -> np.ndarray:
    """Every frame of a video as (N, H, W, 3) uint8 RGB."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True,
    )
    width, height = (int(v) for v in probe.stdout.strip().split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, *EXACT_COLOUR, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def mean_psnr(candidate: np.ndarray, truth: np.ndarray) -> float:
    if candidate.shape != truth.shape:
        raise SystemExit(f"frame counts or sizes differ: {candidate.shape} against {truth.shape}")
    mse = ((candidate.astype(np.float64) - truth.astype(np.float64)) / 255) ** 2
    return float(np.mean([10 * math.log10(1 / max(m, 1e-12)) for m in mse.reshape(len(mse), -1).mean(1)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("truth")
    parser.add_argument("videos", nargs="+")
    args = parser.parse_args()
    truth = frames(args.truth)
    for path in args.videos:
        print(f"{path}: {mean_psnr(frames(path), truth):.2f} dB over {len(truth)} frames")


if __name__ == "__main__":
    main()
